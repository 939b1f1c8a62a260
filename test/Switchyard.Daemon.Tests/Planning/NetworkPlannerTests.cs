using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.Tests.Planning;

/// <summary>The network plan alone: no daemon, no store, a host given as data.</summary>
public sealed class NetworkPlannerTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    private sealed class Host(IReadOnlyList<(uint, int, string)>? v4 = null, IReadOnlyList<(Ipv6Prefix, string)>? v6 = null) : IHostView
    {
        public Switchyard.Platform.HostInterface BridgeInterface(string? name) => new EmptyHost().BridgeInterface(name);
        public IReadOnlyList<(uint Network, int PrefixLength, string Interface)> Ipv4Routes() => v4 ?? [];
        public IReadOnlyList<(Ipv6Prefix Prefix, string Interface)> Ipv6Routes() => v6 ?? [];
        public int? UnderlayMtu(System.Net.IPAddress destination) => null;
    }

    private static NetworkPlan Plan(NetworkCreateRequest r, IReadOnlyCollection<ExistingNetwork>? others = null, IHostView? host = null) =>
        NetworkPlanner.Plan(r, others ?? [], host ?? new Host(), Now);

    private static ControlException Refused(ControlError kind, Func<object> plan)
    {
        var e = Assert.Throws<ControlException>(plan);
        Assert.Equal(kind, e.Kind);
        return e;
    }

    [Theory]
    [InlineData(null, NetworkMode.Nat, null)]
    [InlineData("host", NetworkMode.Host, null)]
    [InlineData("internal", NetworkMode.Internal, null)]
    [InlineData("bridged", NetworkMode.Bridged, null)]
    [InlineData("bridged:eth1", NetworkMode.Bridged, "eth1")]
    public void Modes_parse_once(string? text, NetworkMode mode, string? bridge) =>
        Assert.Equal(new ModeSpec(mode, bridge), ModeSpec.Parse(text));

    [Fact]
    public void An_unknown_mode_is_invalid() =>
        Assert.Contains("unknown mode 'interal'", Refused(ControlError.Invalid, () => ModeSpec.Parse("interal")).Message);

    [Fact]
    public void Defaults_fill_what_the_request_leaves_open()
    {
        var row = Plan(new NetworkCreateRequest { Name = "lab" }).Row;
        Assert.Equal(NetworkMode.Nat, row.Mode);
        Assert.Equal("192.168.64.0/24", row.Subnet);
        Assert.Equal(NetworkConfig.DefaultMtu, row.Mtu);
        Assert.Equal("lab.internal", row.Domain);
        Assert.Equal("[]", row.DnsUpstreamsJson);
        Assert.True(row.HostLoopback);
        Assert.Equal(NetworkPlanner.GatewayMacFor("lab").ToString(), row.GatewayMac);
        Assert.Equal(Now, row.Created);
    }

    [Fact]
    public void The_subnet_pick_skips_other_networks_and_host_routes()
    {
        var others = new[] { new ExistingNetwork("a", Ipv4Subnet.Parse("192.168.64.0/24"), null) };
        var host = new Host(v4: [(Ipv4Address.Parse("192.168.65.0").Value, 24, "eth0")]);
        Assert.Equal("192.168.66.0/24", Plan(new NetworkCreateRequest { Name = "b" }, others, host).Row.Subnet);
    }

    [Fact]
    public void A_given_subnet_that_overlaps_is_a_conflict()
    {
        var others = new[] { new ExistingNetwork("a", Ipv4Subnet.Parse("10.0.0.0/16"), null) };
        var e = Refused(ControlError.Conflict, () => Plan(new NetworkCreateRequest { Name = "b", Subnet = "10.0.5.0/24" }, others));
        Assert.Equal("subnet 10.0.5.0/24 overlaps network 'a' (10.0.0.0/16)", e.Message);
        var route = new Host(v4: [(Ipv4Address.Parse("10.9.0.0").Value, 16, "wg0")]);
        Assert.Contains("overlaps the host route 10.9.0.0/16 on wg0", Refused(ControlError.Conflict,
            () => Plan(new NetworkCreateRequest { Name = "b", Subnet = "10.9.1.0/24" }, [], route)).Message);
    }

    [Fact]
    public void A_range_the_host_uses_is_taken_only_when_asked_and_never_over_another_network_or_a_reserved_range()
    {
        var host = new Host(v4: [(Ipv4Address.Parse("192.168.1.0").Value, 24, "wlan0")], v6: [(Ipv6Prefix.Parse("fd00:1::/64"), "wlan0")]);
        var e = Refused(ControlError.Conflict, () => Plan(new NetworkCreateRequest { Name = "b", Subnet = "192.168.1.0/24" }, [], host));
        Assert.Contains("a range the host itself uses", e.Message);
        Assert.Contains("--allow-host-subnet", e.Message);
        Assert.Contains("--allow-host-subnet", Refused(ControlError.Conflict, () =>
            Plan(new NetworkCreateRequest { Name = "b", Subnet = "10.1.0.0/24", Ipv6 = "fd00:1::/64" }, [], host)).Message);

        var row = Plan(new NetworkCreateRequest { Name = "b", Subnet = "192.168.1.0/24", Ipv6 = "fd00:1::/64", AllowHostSubnet = true }, [], host).Row;
        Assert.Equal("192.168.1.0/24", row.Subnet);
        Assert.Equal("fd00:1::/64", row.Ipv6Prefix);
        // The opt-in is for the host's ranges only.
        var others = new[] { new ExistingNetwork("a", Ipv4Subnet.Parse("192.168.1.0/24"), null) };
        Assert.Contains("overlaps network 'a'", Refused(ControlError.Conflict, () =>
            Plan(new NetworkCreateRequest { Name = "b", Subnet = "192.168.1.0/25", AllowHostSubnet = true }, others, host)).Message);
        Assert.Contains("loopback", Refused(ControlError.Invalid, () =>
            Plan(new NetworkCreateRequest { Name = "b", Subnet = "127.0.0.0/24", AllowHostSubnet = true }, [], host)).Message);
        // A subnet we pick never overlaps the host, asked or not.
        Assert.NotEqual("192.168.1.0/24", Plan(new NetworkCreateRequest { Name = "b", AllowHostSubnet = true }, [], new Host(v4: [(Ipv4Address.Parse("192.168.64.0").Value, 24, "eth0")])).Row.Subnet);
    }

    [Fact]
    public void Ipv6_prefixes_conflict_with_other_networks_and_host_routes()
    {
        var prefix = Ipv6Prefix.Parse("fd00:1::/64");
        Assert.Contains("is network 'a's", Refused(ControlError.Conflict, () =>
            Plan(new NetworkCreateRequest { Name = "b", Ipv6 = "fd00:1::/64" }, [new ExistingNetwork("a", Ipv4Subnet.Parse("10.1.0.0/24"), prefix)])).Message);
        Assert.Contains("overlaps the host's route", Refused(ControlError.Conflict, () =>
            Plan(new NetworkCreateRequest { Name = "b", Ipv6 = "fd00:1::/64" }, [], new Host(v6: [(new Ipv6Prefix(Ipv6Address.Parse("fd00::"), 16), "eth0")]))).Message);
        Assert.Equal(Ipv6Prefix.StableUla("b").ToString(), Plan(new NetworkCreateRequest { Name = "b", Ipv6 = "auto" }).Row.Ipv6Prefix);
    }

    [Theory]
    [InlineData("Lab", null, null, null, "invalid network name")]
    [InlineData("lab", 100, null, null, "MTU 100 is out of range")]
    [InlineData("lab", null, "not a domain!", null, "invalid domain")]
    [InlineData("lab", null, null, "nope", "invalid DNS upstream 'nope'")]
    public void Bad_requests_are_invalid(string name, int? mtu, string? domain, string? upstream, string message) =>
        Assert.Contains(message, Refused(ControlError.Invalid, () => Plan(new NetworkCreateRequest
        {
            Name = name, Mtu = mtu, Domain = domain, DnsUpstreams = upstream is null ? null : [upstream],
        })).Message);

    [Theory]
    [InlineData("127.0.0.0/24", "127.0.0.0/8, loopback")]
    [InlineData("127.255.0.0/16", "127.0.0.0/8, loopback")]
    [InlineData("224.0.0.0/24", "224.0.0.0/4, multicast")]
    [InlineData("239.255.255.0/24", "224.0.0.0/4, multicast")]
    [InlineData("255.255.255.0/24", "240.0.0.0/4, reserved")]
    [InlineData("240.0.0.0/8", "240.0.0.0/4, reserved")]
    [InlineData("0.0.0.0/8", "0.0.0.0/8, 'this network'")]
    [InlineData("0.1.2.0/24", "0.0.0.0/8, 'this network'")]
    [InlineData("169.254.1.0/24", "169.254.0.0/16, link-local")]
    [InlineData("169.0.0.0/8", "169.254.0.0/16, link-local")]   // a wide subnet that takes the range in
    public void A_reserved_subnet_is_refused_saying_why(string subnet, string why)
    {
        var e = Refused(ControlError.Invalid, () => Plan(new NetworkCreateRequest { Name = "lab", Subnet = subnet }));
        Assert.StartsWith($"subnet {subnet} is in {why}", e.Message);
        Assert.Contains("choose another with --subnet", e.Message);
    }

    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("172.16.0.0/12")]
    [InlineData("192.168.100.0/24")]
    [InlineData("100.64.0.0/24")]
    [InlineData("1.0.0.0/24")]
    [InlineData("223.255.255.0/24")]
    public void Unicast_subnets_next_to_reserved_ranges_are_taken(string subnet) =>
        Assert.Equal(subnet, Plan(new NetworkCreateRequest { Name = "lab", Subnet = subnet }).Row.Subnet);

    [Theory]
    [InlineData("ff02::/64", "multicast (ff00::/8")]
    [InlineData("fe80::/64", "link-local (fe80::/10")]
    [InlineData("febf:1:2:3::/64", "link-local (fe80::/10")]
    [InlineData("::/64", "in ::/8")]
    [InlineData("::ffff:0:0/64", "host bits")]
    public void A_reserved_ipv6_prefix_is_refused_saying_why(string prefix, string why) =>
        Assert.Contains(why, Refused(ControlError.Invalid, () => Plan(new NetworkCreateRequest { Name = "lab", Ipv6 = prefix })).Message);

    [Fact]
    public void A_name_taken_is_a_conflict_and_egress_is_for_nat_only()
    {
        Refused(ControlError.Conflict, () => Plan(new NetworkCreateRequest { Name = "a" }, [new ExistingNetwork("a", Ipv4Subnet.Parse("10.1.0.0/24"), null)]));
        Assert.Contains("egress policies apply to nat networks", Refused(ControlError.Invalid, () =>
            Plan(new NetworkCreateRequest { Name = "a", Mode = "internal", Egress = new EgressPolicySpec { Default = "deny" } })).Message);
    }
}
