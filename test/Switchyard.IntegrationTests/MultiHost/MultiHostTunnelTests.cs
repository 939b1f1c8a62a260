using System.Net;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// The tunnel between two hosts seen from the underlay (<see cref="TwoHosts"/>): what a third peer gets
/// (learning: known unicast goes to one VTEP only, RFC 7348 section 4.1) and what host A's port does with
/// datagrams no VTEP should send (dropped and counted by reason, nothing else disturbed). The third peer and
/// the stranger are UDP sockets the test plays (<see cref="FakeVtep"/>) on addresses of the underlay.
/// </summary>
public sealed class MultiHostTunnelTests
{
    /// <summary>Both hosts list a third peer. Broadcast reaches it (head-end replication: a guest's DHCP
    /// discover), but once the two guests have exchanged one ping, twenty more each way between them reach
    /// only each other's host: not one frame to either guest's MAC arrives at the third peer.</summary>
    [LinuxRootFact]
    public async Task After_the_first_exchange_unicast_is_not_replicated_to_a_third_peer()
    {
        await using var hosts = await TwoHosts.StartAsync();
        using var third = new FakeVtep(hosts.AddUnderlayAddress(3));
        string net = TestDaemon.UniqueName("mh");
        hosts.CreateGatewayNetwork(net, "internal", "--vxlan-peer", third.EndPoint.ToString());
        hosts.CreateJoiningNetwork(net, "--vxlan-peer", third.EndPoint.ToString());
        using var a1 = await Guest.AttachAsync(hosts.A.Client, net, "a1");
        a1.Dhcp();
        using var b1 = await Guest.AttachAsync(hosts.B.Client, net, "b1");
        string ipB = b1.DhcpAs("bee")["ip"];
        string macA = a1.Endpoint.Mac.ToLowerInvariant(), macB = b1.Endpoint.Mac.ToLowerInvariant();

        // Replication works, or the rest proves nothing: B's guest's DHCP broadcasts came to the third peer too.
        Assert.Contains(third.Received, d => d.Source == macB && d.Destination == "ff:ff:ff:ff:ff:ff" && d.Vni == hosts.Vni);
        Assert.True(a1.Ping(ipB, count: 1), "no first exchange");
        Assert.True(b1.Ping(a1.Endpoint.Ipv4, count: 1), "no first exchange back");
        int before = third.Received.Count;
        long sentA = Vxlan.Of(hosts.CliA, net).SentTo(hosts.AddressB + ":4789");

        Assert.True(a1.Ping(ipB, count: 20), "host A's guest lost pings to host B's guest");
        Assert.True(b1.Ping(a1.Endpoint.Ipv4, count: 20), "host B's guest lost pings to host A's guest");

        var leaked = third.Received.Skip(before).Where(d => d.Destination == macA || d.Destination == macB).ToList();
        Assert.True(leaked.Count == 0, $"{leaked.Count} unicast frames between the guests reached the third peer: {string.Join(", ", leaked.Take(5))}");
        // And they did go through the tunnel, to host B: 40 echo requests or replies at least.
        long sentAfter = Vxlan.Of(hosts.CliA, net).SentTo(hosts.AddressB + ":4789");
        Assert.True(sentAfter - sentA >= 40, $"host A sent {sentAfter - sentA} datagrams to host B");
        Assert.True(Vxlan.Of(hosts.CliA, net).LearntMacs >= 1);
    }

    /// <summary>Host A's port gets, in turn: a well-formed datagram from an address that is no peer, and from the
    /// third peer one with a wrong VNI, a truncated header, flags other than I, and an inner frame over the MTU.
    /// Each lands under its own reason exactly once, none of their source MACs is learnt, while a well-formed one
    /// from the same peer is (so the port still takes what it should), and the guests go on reaching each other.</summary>
    [LinuxRootFact]
    public async Task Bad_datagrams_are_dropped_and_counted_and_nothing_else_is_disturbed()
    {
        await using var hosts = await TwoHosts.StartAsync();
        using var third = new FakeVtep(hosts.AddUnderlayAddress(3));
        using var stranger = new FakeVtep(hosts.AddUnderlayAddress(4));
        string net = TestDaemon.UniqueName("mh");
        hosts.CreateGatewayNetwork(net, "internal", "--vxlan-peer", third.EndPoint.ToString());
        hosts.CreateJoiningNetwork(net);
        using var a1 = await Guest.AttachAsync(hosts.A.Client, net, "a1");
        a1.Dhcp();
        using var b1 = await Guest.AttachAsync(hosts.B.Client, net, "b1");
        string ipB = b1.DhcpAs("bee")["ip"];
        Assert.True(a1.Ping(ipB), "no traffic between the hosts before the bad input");

        var portA = new IPEndPoint(IPAddress.Parse(hosts.AddressA), 4789);
        const string Broadcast = "ff:ff:ff:ff:ff:ff";
        var start = Vxlan.Of(hosts.CliA, net);
        int mtu = 1450;

        async Task ExpectAsync(string reason, Action send)
        {
            long was = Vxlan.Of(hosts.CliA, net).Dropped(reason);
            send();
            await Eventually.UntilAsync(() => Vxlan.Of(hosts.CliA, net).Dropped(reason) == was + 1, Bounds.Generous,
                () => $"{reason}: {Vxlan.Of(hosts.CliA, net)}");
        }

        await ExpectAsync("not-a-peer", () => stranger.Send(portA, FakeVtep.Vxlan(hosts.Vni, FakeVtep.Frame(Broadcast, FakeVtep.RandomMac()))));
        await ExpectAsync("wrong-vni", () => third.Send(portA, FakeVtep.Vxlan(hosts.Vni ^ 1, FakeVtep.Frame(Broadcast, FakeVtep.RandomMac()))));
        await ExpectAsync("malformed", () => third.Send(portA, [0x08, 0, 0, 0]));
        await ExpectAsync("bad-flags", () => third.Send(portA, FakeVtep.Vxlan(hosts.Vni, FakeVtep.Frame(Broadcast, FakeVtep.RandomMac()), flags: 0x0C)));
        // The longest frame the MTU allows is MTU + 14 (Ethernet) + 4 (an 802.1Q tag); one byte more.
        await ExpectAsync("too-big", () => third.Send(portA, FakeVtep.Vxlan(hosts.Vni, FakeVtep.Frame(Broadcast, FakeVtep.RandomMac(), mtu + 14 + 4 + 1))));
        Assert.Equal(start.LearntMacs, Vxlan.Of(hosts.CliA, net).LearntMacs);

        // The same from the peer, well-formed: taken, and its source learnt behind the third peer.
        third.Send(portA, FakeVtep.Vxlan(hosts.Vni, FakeVtep.Frame(Broadcast, FakeVtep.RandomMac())));
        await Eventually.UntilAsync(() => Vxlan.Of(hosts.CliA, net).LearntMacs == start.LearntMacs + 1, Bounds.Generous,
            () => Vxlan.Of(hosts.CliA, net).ToString());

        var end = Vxlan.Of(hosts.CliA, net);
        foreach (var reason in new[] { "not-a-peer", "wrong-vni", "malformed", "bad-flags", "too-big" })
            Assert.True(end.Dropped(reason) == start.Dropped(reason) + 1, $"{reason}: {end}");
        Assert.True(a1.Ping(ipB), "host A's guest lost host B's guest after the bad input");
        Assert.True(b1.Ping(a1.Endpoint.Ipv4), "host B's guest lost host A's guest after the bad input");
    }
}
