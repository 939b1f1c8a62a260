using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Nat;
using Switchyard.Packets;

namespace Switchyard.Daemon.Tests.Planning;

/// <summary>The endpoint plan, transport normalisation and publish rules alone.</summary>
public sealed class EndpointPlannerTests
{
    private static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.5.0.0/29");   // hosts .2-.6 for guests
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    private static EndpointTarget Net(params (string Name, string[] Aliases)[] endpoints) => new("n", NetworkMode.Nat, Subnet,
        MacAddress.Parse("02:00:00:00:00:01"), null, endpoints.ToDictionary(e => e.Name, e => (IReadOnlyList<string>)e.Aliases));

    private static EndpointAttachRequest Tap(string name, string ns = "guest") => new() { Name = name, Transport = new TransportSpec { Kind = "tap", Netns = ns } };

    private static LeaseRow Lease(string endpoint, string ip, string mac, int minutesAgo = 0) =>
        new("n", endpoint, MacAddress.Parse(mac), Ipv4Address.Parse(ip), LeaseStatus.Reserved, null, Now.AddMinutes(-minutesAgo));

    private static readonly Func<MacAddress> NoRandom = () => throw new InvalidOperationException("no random MAC expected");

    [Fact]
    public void A_second_nic_of_the_same_guest_is_eth1_without_the_default_route()
    {
        var shape = EndpointPlanner.Shape(Tap("b"), Net(), _ => [new SiblingNic("eth0", DefaultRoute: true)]);
        Assert.Equal("eth1", shape.Transport.Ifname);
        Assert.False(shape.DefaultRoute);
        var first = EndpointPlanner.Shape(Tap("a"), Net(), _ => []);
        Assert.Equal("eth0", first.Transport.Ifname);
        Assert.True(first.DefaultRoute);
    }

    [Fact]
    public void Aliases_must_be_free_on_the_network()
    {
        var net = Net(("web", ["www"]));
        Assert.Equal(ControlError.Conflict, Assert.Throws<ControlException>(() =>
            EndpointPlanner.Shape(Tap("api") with { Aliases = ["www"] }, net, _ => [])).Kind);
        Assert.Equal(ControlError.Conflict, Assert.Throws<ControlException>(() => EndpointPlanner.Shape(Tap("www"), net, _ => [])).Kind);
        Assert.Equal(ControlError.Invalid, Assert.Throws<ControlException>(() =>
            EndpointPlanner.Shape(Tap("api") with { Aliases = ["gateway"] }, net, _ => [])).Kind);
        Assert.Equal(["x", "y"], EndpointPlanner.Shape(Tap("api") with { Aliases = ["x", "y"] }, net, _ => []).Aliases);
    }

    [Fact]
    public void A_returning_endpoint_keeps_its_mac_and_address()
    {
        var leases = new[] { Lease("a", "10.5.0.4", "02:00:00:00:00:0a") };
        var choice = EndpointPlanner.ChooseAddresses(Tap("a"), Net(), leases, new HashSet<Ipv4Address>(), new Dictionary<MacAddress, string>(), NoRandom);
        Assert.Equal(Ipv4Address.Parse("10.5.0.4"), choice.Ipv4);
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:0a"), choice.Mac);
        Assert.Same(leases[0], choice.Previous);
    }

    [Fact]
    public void The_lowest_free_address_skips_reserved_and_quarantined_ones()
    {
        var leases = new[] { Lease("a", "10.5.0.2", "02:00:00:00:00:0a") };
        var quarantined = new HashSet<Ipv4Address> { Ipv4Address.Parse("10.5.0.3") };
        var choice = EndpointPlanner.ChooseAddresses(Tap("b"), Net(("a", [])), leases, quarantined, new Dictionary<MacAddress, string>(),
            () => MacAddress.Parse("02:00:00:00:00:0b"));
        Assert.Equal(Ipv4Address.Parse("10.5.0.4"), choice.Ipv4);
        Assert.Null(choice.Evicted);
        Assert.Equal(ControlError.Conflict, Assert.Throws<ControlException>(() => EndpointPlanner.ChooseAddresses(Tap("b") with { Ip = "10.5.0.3", Mac = "02:00:00:00:00:0b" },
            Net(("a", [])), leases, quarantined, new Dictionary<MacAddress, string>(), NoRandom)).Kind);
    }

    [Fact]
    public void A_full_subnet_evicts_the_longest_detached_reservation_but_a_decline_never_does()
    {
        var leases = Enumerable.Range(2, 5).Select(i => Lease($"e{i}", $"10.5.0.{i}", $"02:00:00:00:00:{i:x2}", minutesAgo: i)).ToList();
        bool Attached(string name) => name is "e6";   // e6 detached longest ago, but it is attached
        var ip = EndpointPlanner.Allocate("n", Subnet, leases, new HashSet<Ipv4Address>(), Attached, mayEvict: true, out var evicted);
        Assert.Equal("e5", evicted);
        Assert.Equal(Ipv4Address.Parse("10.5.0.5"), ip);
        Assert.Equal(ControlError.Conflict, Assert.Throws<ControlException>(() =>
            EndpointPlanner.Allocate("n", Subnet, leases, new HashSet<Ipv4Address>(), Attached, mayEvict: false, out _)).Kind);
    }

    [Fact]
    public void A_given_mac_must_be_unicast_and_unused()
    {
        var leases = new[] { Lease("a", "10.5.0.2", "02:00:00:00:00:0a") };
        var none = new Dictionary<MacAddress, string>();
        Assert.Equal(ControlError.Invalid, Assert.Throws<ControlException>(() =>
            EndpointPlanner.ChooseAddresses(Tap("b") with { Mac = "01:00:5e:00:00:01" }, Net(), leases, new HashSet<Ipv4Address>(), none, NoRandom)).Kind);
        Assert.Equal(ControlError.Conflict, Assert.Throws<ControlException>(() =>
            EndpointPlanner.ChooseAddresses(Tap("b") with { Mac = "02:00:00:00:00:0a" }, Net(), leases, new HashSet<Ipv4Address>(), none, NoRandom)).Kind);
        Assert.Equal(ControlError.Conflict, Assert.Throws<ControlException>(() =>
            EndpointPlanner.ChooseAddresses(Tap("b") with { Mac = "02:00:00:00:00:01" }, Net(), leases, new HashSet<Ipv4Address>(), none, NoRandom)).Kind);
    }

    [Theory]
    [InlineData("tap", null, "a tap endpoint needs a namespace")]
    [InlineData("stream", null, "exactly one of --stream-listen")]
    [InlineData("dgram", null, "needs --dgram-listen")]
    [InlineData("vsock", null, "unknown transport 'vsock'")]
    [InlineData("stream", "ns", "apply to the tap transport only")]
    public void Transports_are_checked_before_anything_is_made(string kind, string? netns, string message) =>
        Assert.Contains(message, Assert.Throws<ControlException>(() =>
            TransportPlanner.Normalize(new TransportSpec { Kind = kind, Netns = netns }, macGiven: false)).Message);

    [Fact]
    public void A_socket_transport_learns_the_vms_mac_unless_one_is_given()
    {
        var t = TransportPlanner.Normalize(new TransportSpec { Kind = "dgram", Listen = "rel.sock" }, macGiven: false);
        Assert.Equal(TransportKind.Dgram, t.Kind);
        Assert.True(t.LearnMac);
        Assert.Equal(Path.GetFullPath("rel.sock"), t.Listen);
        Assert.False(TransportPlanner.Normalize(new TransportSpec { Kind = "dgram", Listen = "rel.sock" }, macGiven: true).LearnMac);
    }

    [Fact]
    public void The_stored_transport_is_the_text_the_wire_type_wrote()
    {
        var spec = new TransportSpec { Kind = "tap", Netns = "g", Ifname = "eth1", Configure = true };
        var stored = TransportPlanner.Normalize(spec, macGiven: false);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(spec with { LearnMac = false }, SwitchyardJsonContext.Default.TransportSpec), stored.ToJson());
    }

    [Fact]
    public void Publish_rules_find_overlapping_host_ports()
    {
        var any4 = PublishRules.Parse("0.0.0.0:8080:80");
        var local = PublishRules.Parse("127.0.0.1:8080:81");
        var any6 = PublishRules.Parse("[::]:8080:82");
        var udp = PublishRules.Parse("127.0.0.1:8080:80/udp");
        Assert.True(PublishRules.Overlaps(any4, local));
        Assert.True(PublishRules.Overlaps(any6, local));
        Assert.False(PublishRules.Overlaps(local, udp));
        var e = Assert.Throws<ControlException>(() => PublishRules.CheckAll(["8080:80", "127.0.0.1:8080:90"], () => { }, []));
        Assert.Equal(ControlError.Conflict, e.Kind);
        e = Assert.Throws<ControlException>(() => PublishRules.CheckHostPortFree(local, [new ExistingPublish(any4, "n", "web")]));
        Assert.Equal("host port 127.0.0.1:8080/tcp is already published to endpoint 'web' on network 'n' (0.0.0.0:8080:80/tcp)", e.Message);
        Assert.Equal(ControlError.Invalid, Assert.Throws<ControlException>(() => PublishRules.Parse("nonsense")).Kind);
    }
}
