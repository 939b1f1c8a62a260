using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.Tests.Planning;

/// <summary>A network's VXLAN uplink as planned: addresses, defaults, clashes, the MTU from the
/// underlay, peers edited, and the bridged:vxlan mode. No daemon: the host is given as data.</summary>
public sealed class VxlanPlannerTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    /// <summary>A host whose routes have the given IP MTUs (by destination; others unknown).</summary>
    private sealed class Underlay(params (string Destination, int Mtu)[] mtus) : IHostView
    {
        public Switchyard.Platform.HostInterface BridgeInterface(string? name) => new EmptyHost().BridgeInterface(name);
        public IReadOnlyList<(uint Network, int PrefixLength, string Interface)> Ipv4Routes() => [];
        public IReadOnlyList<(Ipv6Prefix Prefix, string Interface)> Ipv6Routes() => [];
        public int? UnderlayMtu(IPAddress destination) =>
            mtus.Where(m => IPAddress.Parse(m.Destination).Equals(destination)).Select(m => (int?)m.Mtu).FirstOrDefault();
    }

    private static ControlException Refused(ControlError kind, Func<object> plan)
    {
        var e = Assert.Throws<ControlException>(plan);
        Assert.Equal(kind, e.Kind);
        return e;
    }

    private static StoredVxlan Plan(int vni = 42, string? local = null, params string[] peers) =>
        VxlanPlanner.Plan(new VxlanSpec { Vni = vni, Local = local, Peers = peers }, []);

    [Theory]
    [InlineData("10.0.0.1", "10.0.0.1:4789")]
    [InlineData("10.0.0.1:8472", "10.0.0.1:8472")]
    [InlineData(" 10.0.0.1:5000 ", "10.0.0.1:5000")]
    [InlineData("fd00::1", "[fd00::1]:4789")]
    [InlineData("[fd00::1]", "[fd00::1]:4789")]
    [InlineData("[fd00::1]:8472", "[fd00::1]:8472")]
    [InlineData("::ffff:10.0.0.1", "10.0.0.1:4789")]
    public void Addresses_take_the_default_port_and_one_canonical_form(string text, string canonical) =>
        Assert.Equal(canonical, VxlanPlanner.ParseAddress(text, "--vxlan-peer").ToString());

    [Theory]
    [InlineData("")]
    [InlineData("host.example")]
    [InlineData("10.0.0.1:0")]
    [InlineData("10.0.0.1:65536")]
    [InlineData("10.0.0.1:")]
    [InlineData("10.0.0.1:x")]
    [InlineData("[fd00::1")]
    [InlineData("[fd00::1]8472")]
    [InlineData("fe80::1%eth0")]
    public void Bad_addresses_are_refused_with_the_option(string text)
    {
        var e = Refused(ControlError.Invalid, () => VxlanPlanner.ParseAddress(text, "--vxlan-peer"));
        Assert.Contains("--vxlan-peer", e.Message);
    }

    [Fact]
    public void Without_a_local_address_the_tunnel_listens_on_loopback()
    {
        Assert.Equal("127.0.0.1:4789", Plan().Local);
        Assert.Equal("127.0.0.1:4789", Plan(42, null, "127.0.0.2").Local);
        Assert.Equal("[::1]:4789", Plan(42, null, "[::1]:4790").Local);
    }

    [Fact]
    public void A_peer_on_another_host_needs_a_local_address_said_out_loud()
    {
        var e = Refused(ControlError.Invalid, () => Plan(42, null, "192.0.2.10"));
        Assert.Contains("--vxlan-local", e.Message);
        e = Refused(ControlError.Invalid, () => Plan(42, "127.0.0.1:4789", "192.0.2.10"));
        Assert.Contains("cannot reach", e.Message);
        var v = Plan(42, "192.0.2.1", "192.0.2.10", "192.0.2.11:8472");
        Assert.Equal("192.0.2.1:4789", v.Local);
        Assert.Equal(["192.0.2.10:4789", "192.0.2.11:8472"], v.Peers);
        Assert.Equal("0.0.0.0:4789", Plan(42, "0.0.0.0", "192.0.2.10").Local);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1 << 24)]
    public void The_vni_is_24_bits(int vni) =>
        Assert.Contains("24 bits", Refused(ControlError.Invalid, () => Plan(vni)).Message);

    [Fact]
    public void Vni_bounds_are_taken() => Assert.Equal((1 << 24) - 1, Plan((1 << 24) - 1).Vni);

    [Theory]
    [InlineData("10.0.0.1", "fd00::2", "one family")]
    [InlineData("10.0.0.1", "0.0.0.0", "unicast")]
    [InlineData("10.0.0.1", "255.255.255.255", "unicast")]
    [InlineData("10.0.0.1", "239.1.1.1", "unicast")]
    [InlineData("10.0.0.1:4789", "10.0.0.1", "own address")]
    [InlineData("239.1.1.1", "10.0.0.2", "multicast")]
    public void Bad_peers_and_locals_are_refused(string local, string peer, string why) =>
        Assert.Contains(why, Refused(ControlError.Invalid, () => Plan(42, local, peer)).Message);

    [Fact]
    public void A_peer_given_twice_is_refused() =>
        Assert.Contains("twice", Refused(ControlError.Invalid, () => Plan(42, "10.0.0.1", "10.0.0.2", "10.0.0.2:4789")).Message);

    /// <summary>The tunnel tells peers apart by source address only (their source ports vary by flow hash),
    /// so one address with two ports would be one peer to it: refused at create and at a live edit, naming both.</summary>
    [Fact]
    public void Two_peers_on_one_address_with_different_ports_are_refused()
    {
        var e = Refused(ControlError.Invalid, () => Plan(42, "10.0.0.1", "10.0.0.2:4789", "10.0.0.2:8472"));
        Assert.Contains("10.0.0.2:8472", e.Message);
        Assert.Contains("10.0.0.2:4789", e.Message);
        Assert.Contains("by address only", e.Message);
        var current = Plan(42, "10.0.0.1", "10.0.0.2:4789", "10.0.0.3");
        e = Refused(ControlError.Invalid, () => VxlanPlanner.EditPeers(current, new VxlanUpdate { AddPeers = ["10.0.0.2:8472"] }, "lab"));
        Assert.Contains("already a peer of network 'lab'", e.Message);
        // Moving a peer to another port in one edit is fine: the old entry goes first.
        var moved = VxlanPlanner.EditPeers(current, new VxlanUpdate { RemovePeers = ["10.0.0.2"], AddPeers = ["10.0.0.2:8472"] }, "lab");
        Assert.Equal(["10.0.0.3:4789", "10.0.0.2:8472"], moved.Peers);
        // IPv6: the same rule.
        Assert.Contains("by address only", Refused(ControlError.Invalid, () => Plan(42, "[fd00::1]", "[fd00::2]:4789", "[fd00::2]:4790")).Message);
    }

    [Fact]
    public void Too_many_peers_are_refused()
    {
        var peers = Enumerable.Range(0, VxlanPlanner.MaxPeers + 1).Select(i => $"10.1.{i / 250}.{i % 250 + 1}").ToArray();
        Assert.Contains($"at most {VxlanPlanner.MaxPeers}", Refused(ControlError.Invalid, () => Plan(42, "10.0.0.1", peers)).Message);
    }

    [Theory]
    [InlineData("127.0.0.1:4789", "127.0.0.1:4789", true)]
    [InlineData("0.0.0.0:4789", "127.0.0.1:4789", true)]
    [InlineData("127.0.0.1:4789", "0.0.0.0:4789", true)]
    [InlineData("127.0.0.1:4790", "127.0.0.1:4789", false)]
    [InlineData("127.0.0.2:4789", "127.0.0.1:4789", false)]
    [InlineData("[::1]:4789", "127.0.0.1:4789", false)]
    public void Two_networks_cannot_listen_on_one_address(string mine, string theirs, bool clash)
    {
        var other = new StoredVxlan { Vni = 7, Local = theirs, Peers = [] };
        Func<object> plan = () => VxlanPlanner.Plan(new VxlanSpec { Vni = 42, Local = mine }, [("other", other)]);
        if (clash) Assert.Contains("network 'other'", Refused(ControlError.Conflict, plan).Message);
        else plan();
    }

    [Fact]
    public void The_mtu_is_the_underlay_route_minus_the_encapsulation()
    {
        var v4 = Plan(42, "10.0.0.1", "10.0.0.2", "10.0.0.3");
        Assert.Equal(1450, VxlanPlanner.DefaultMtu(v4, new Underlay(("10.0.0.2", 1500), ("10.0.0.3", 1500))));
        // The smallest route of all the peers: a frame replicated to each must fit every one.
        Assert.Equal(1370, VxlanPlanner.DefaultMtu(v4, new Underlay(("10.0.0.2", 9000), ("10.0.0.3", 1420))));
        // The host cannot say: an Ethernet underlay is assumed.
        Assert.Equal(1450, VxlanPlanner.DefaultMtu(v4, new Underlay()));
        // IPv6's header is 20 bytes longer.
        var v6 = Plan(42, "fd00::1", "fd00::2");
        Assert.Equal(1430, VxlanPlanner.DefaultMtu(v6, new Underlay(("fd00::2", 1500))));
        // No peers yet: the route of the local address; loopback's 65536 is capped at what a datagram carries.
        Assert.Equal(VxlanPlanner.MaxMtu, VxlanPlanner.DefaultMtu(Plan(), new Underlay(("127.0.0.1", 65536))));
        Assert.Contains("less than 576", Refused(ControlError.Invalid, () => VxlanPlanner.DefaultMtu(v4, new Underlay(("10.0.0.2", 600), ("10.0.0.3", 1500)))).Message);
    }

    [Fact]
    public void Peers_are_added_and_removed_in_canonical_form()
    {
        var v = Plan(42, "10.0.0.1", "10.0.0.2");
        var edited = VxlanPlanner.EditPeers(v, new VxlanUpdate { AddPeers = ["10.0.0.3:8472"], RemovePeers = ["10.0.0.2:4789"] }, "n");
        Assert.Equal(["10.0.0.3:8472"], edited.Peers);
        Assert.Equal(v.Local, edited.Local);
        Assert.Equal(v.Vni, edited.Vni);
        Assert.Contains("already", Refused(ControlError.Conflict, () => VxlanPlanner.EditPeers(v, new VxlanUpdate { AddPeers = ["10.0.0.2"] }, "n")).Message);
        Assert.Contains("no VXLAN peer 10.0.0.9:4789", Refused(ControlError.NotFound, () => VxlanPlanner.EditPeers(v, new VxlanUpdate { RemovePeers = ["10.0.0.9"] }, "n")).Message);
        Assert.Contains("one family", Refused(ControlError.Invalid, () => VxlanPlanner.EditPeers(v, new VxlanUpdate { AddPeers = ["fd00::9"] }, "n")).Message);
    }

    [Fact]
    public void A_gateway_host_network_keeps_its_gateway_and_gets_the_tunnel()
    {
        var plan = NetworkPlanner.Plan(new NetworkCreateRequest { Name = "span", Subnet = "10.77.0.0/24", Vxlan = new VxlanSpec { Vni = 42, Local = "10.0.0.1", Peers = ["10.0.0.2"] } },
            [], new Underlay(("10.0.0.2", 1500)), Now);
        Assert.Equal(NetworkMode.Nat, plan.Row.Mode);
        Assert.Equal(1450, plan.Row.Mtu);
        Assert.Equal(new StoredVxlan { Vni = 42, Local = "10.0.0.1:4789", Peers = ["10.0.0.2:4789"] }.ToJson(), plan.Row.VxlanJson);
        // A given --mtu wins, within what a datagram carries.
        Assert.Equal(1400, NetworkPlanner.Plan(new NetworkCreateRequest { Name = "m", Mtu = 1400, Vxlan = new VxlanSpec { Vni = 1 } }, [], new Underlay(), Now).Row.Mtu);
        Refused(ControlError.Invalid, () => NetworkPlanner.Plan(new NetworkCreateRequest { Name = "m", Mtu = 65520, Vxlan = new VxlanSpec { Vni = 1 } }, [], new Underlay(), Now));
    }

    [Fact]
    public void Bridged_vxlan_joins_over_the_tunnel_without_a_bridge()
    {
        Assert.Equal(new ModeSpec(NetworkMode.Bridged, null, Vxlan: true), ModeSpec.Parse("bridged:vxlan"));
        var plan = NetworkPlanner.Plan(new NetworkCreateRequest { Name = "join", Mode = "bridged:vxlan", Vxlan = new VxlanSpec { Vni = 42, Local = "10.0.0.2", Peers = ["10.0.0.1"] } },
            [], new Underlay(("10.0.0.1", 9000)), Now);
        Assert.Equal(NetworkMode.Bridged, plan.Row.Mode);
        Assert.Null(plan.Row.BridgeInterface);
        Assert.Null(plan.Bridge);
        Assert.Equal(8950, plan.Row.Mtu);
        Assert.NotNull(plan.Row.VxlanJson);
    }

    [Theory]
    [InlineData("bridged:vxlan", null, "--vxlan VNI")]
    [InlineData("bridged:eth0", 42, "one uplink")]
    [InlineData("bridged", 42, "bridged:vxlan")]
    public void Bridged_modes_and_the_tunnel_must_agree(string mode, int? vni, string message)
    {
        var r = new NetworkCreateRequest { Name = "j", Mode = mode, Vxlan = vni is { } v ? new VxlanSpec { Vni = v } : null };
        Assert.Contains(message, Refused(ControlError.Invalid, () => NetworkPlanner.Plan(r, [], new Underlay(), Now)).Message);
    }

    [Theory]
    [InlineData("subnet")]
    [InlineData("dns")]
    [InlineData("ipv6")]
    public void A_joining_network_has_nothing_of_a_gateway(string option)
    {
        var r = new NetworkCreateRequest
        {
            Name = "j", Mode = "bridged:vxlan", Vxlan = new VxlanSpec { Vni = 42 },
            Subnet = option == "subnet" ? "10.9.0.0/24" : null, DnsUpstreams = option == "dns" ? ["192.0.2.53"] : null, Ipv6 = option == "ipv6" ? "auto" : null,
        };
        var e = Refused(ControlError.Invalid, () => NetworkPlanner.Plan(r, [], new Underlay(), Now));
        if (option != "ipv6") Assert.Contains("gateway host", e.Message);
    }

    [Fact]
    public void A_tunnel_clashing_with_another_network_is_a_conflict()
    {
        var other = new ExistingNetwork("first", Ipv4Subnet.Parse("10.1.0.0/24"), null, new StoredVxlan { Vni = 1, Local = "127.0.0.1:4789", Peers = [] });
        var e = Refused(ControlError.Conflict, () => NetworkPlanner.Plan(new NetworkCreateRequest { Name = "second", Vxlan = new VxlanSpec { Vni = 2 } }, [other], new Underlay(), Now));
        Assert.Contains("'first'", e.Message);
    }
}
