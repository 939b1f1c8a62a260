using System.Net;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>Two or three tunnels on loopback: head-end replication, learning (and its ageing on a
/// FakeTimeProvider), unicast to the learnt VTEP only, peers changed at run time.</summary>
public sealed class VxlanTunnelTests : IDisposable
{
    private const ulong MacA = 0x02_00_00_00_00_0A, MacB = 0x02_00_00_00_00_0B, Broadcast = 0xFFFF_FFFF_FFFF;
    private readonly VxlanTestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    /// <summary>Host A with peers B and C, B and C with peer A (a star around A).</summary>
    private (VxlanTestBed.Vtep A, VxlanTestBed.Vtep B, VxlanTestBed.Vtep C) Star()
    {
        var a = _bed.Open("127.0.0.1");
        var b = _bed.Open("127.0.0.2", a.Local);
        var c = _bed.Open("127.0.0.3", a.Local);
        a.Tunnel.SetPeers([b.Local, c.Local]);
        return (a, b, c);
    }

    [Fact]
    public void Broadcast_is_replicated_to_every_peer_and_arrives_decapsulated()
    {
        var (a, b, c) = Star();
        var frame = VxlanTestBed.Frame(Broadcast, MacA, fill: 0x5A);
        Assert.True(a.Tunnel.TrySend(frame, VirtioNetHeader.None));
        Assert.Equal(frame, b.Next());
        Assert.Equal(frame, c.Next());
        var counters = a.Tunnel.Counters;
        Assert.Equal(1, counters.Replicated);
        Assert.Equal(2, counters.DatagramsOut);
        Assert.Equal(2 * (VxlanHeader.Length + frame.Length), counters.BytesOut);
        Assert.Equal(1, counters.SentPerPeer[b.Local.ToString()]);
        Assert.Equal(1, counters.SentPerPeer[c.Local.ToString()]);
        Assert.Equal(1, b.Tunnel.Counters.DatagramsIn);
    }

    [Fact]
    public void Unicast_to_a_learnt_mac_goes_only_to_its_vtep_until_the_entry_ages()
    {
        var (a, b, c) = Star();
        // B's guest speaks first: A learns MacB behind B.
        Assert.True(b.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacB), VirtioNetHeader.None));
        a.Next();
        Assert.Equal(1, a.Tunnel.Counters.LearntMacs);

        Assert.True(a.Tunnel.TrySend(VxlanTestBed.Frame(MacB, MacA), VirtioNetHeader.None));
        Assert.Equal(MacB, MacAddress.Read(b.Next()).Value);
        c.NothingMore();
        var counters = a.Tunnel.Counters;
        Assert.Equal(0, counters.Replicated);
        Assert.Equal(0, counters.SentPerPeer[c.Local.ToString()]);

        // Unknown unicast floods, like a switch.
        Assert.True(a.Tunnel.TrySend(VxlanTestBed.Frame(0x02_00_00_00_00_99, MacA), VirtioNetHeader.None));
        b.Next();
        c.Next();

        // 300 s without a frame from MacB: forgotten, so unicast to it is replicated again.
        _bed.Clock.Advance(TimeSpan.FromSeconds(299));
        Assert.True(a.Tunnel.TrySend(VxlanTestBed.Frame(MacB, MacA), VirtioNetHeader.None));
        b.Next();
        c.NothingMore();
        _bed.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, a.Tunnel.Counters.LearntMacs);
        Assert.True(a.Tunnel.TrySend(VxlanTestBed.Frame(MacB, MacA), VirtioNetHeader.None));
        b.Next();
        c.Next();
    }

    [Fact]
    public void A_mac_that_moves_to_another_host_follows_at_its_first_frame()
    {
        var (a, b, c) = Star();
        b.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacB), VirtioNetHeader.None);
        a.Next();
        c.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacB), VirtioNetHeader.None);   // migrated to C
        a.Next();
        Assert.True(a.Tunnel.TrySend(VxlanTestBed.Frame(MacB, MacA), VirtioNetHeader.None));
        c.Next();
        b.NothingMore();
    }

    [Fact]
    public void Removing_a_peer_forgets_the_macs_behind_it_and_stops_taking_its_datagrams()
    {
        var (a, b, c) = Star();
        b.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacB), VirtioNetHeader.None);
        a.Next();
        a.Tunnel.SetPeers([c.Local]);
        Assert.Equal(0, a.Tunnel.Counters.LearntMacs);
        Assert.Equal([c.Local], a.Tunnel.Settings.Peers);
        Assert.True(a.Tunnel.TrySend(VxlanTestBed.Frame(MacB, MacA), VirtioNetHeader.None));
        c.Next();
        b.NothingMore();

        b.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacB), VirtioNetHeader.None);
        c.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacA + 5), VirtioNetHeader.None);   // a sentinel after it
        Assert.Equal(MacA + 5, MacAddress.Read(a.Next().AsSpan(6)).Value);
        Assert.Equal(1, a.Tunnel.Counters.DroppedNotAPeer);
        Assert.Equal(1, a.Tunnel.Counters.SentPerPeer[c.Local.ToString()]);
        Assert.False(a.Tunnel.Counters.SentPerPeer.ContainsKey(b.Local.ToString()));
    }

    [Fact]
    public void A_peer_keeps_its_sent_count_across_an_update_that_keeps_it()
    {
        var (a, b, c) = Star();
        a.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacA), VirtioNetHeader.None);
        b.Next();
        c.Next();
        var d = _bed.Open("127.0.0.4", a.Local);
        a.Tunnel.SetPeers([b.Local, d.Local]);
        var sent = a.Tunnel.Counters.SentPerPeer;
        Assert.Equal(2, sent.Count);
        Assert.Equal(1, sent[b.Local.ToString()]);
        Assert.Equal(0, sent[d.Local.ToString()]);
    }

    [Fact]
    public void With_no_peers_nothing_is_sent()
    {
        var a = _bed.Open("127.0.0.1");
        Assert.False(a.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, MacA), VirtioNetHeader.None));
        Assert.Equal(0, a.Tunnel.Counters.DatagramsOut);
    }

    [Fact]
    public void Ipv6_underlay_carries_frames_both_ways()
    {
        var a = VxlanTunnel.Open(new VxlanSettings(VxlanTestBed.Vni, new IPEndPoint(IPAddress.IPv6Loopback, 0), []), VxlanTestBed.Mtu,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, _bed.Clock);
        using var disposeA = a;
        var got = new System.Collections.Concurrent.BlockingCollection<byte[]>();
        a.Start((f, in _) => got.Add(f.ToArray()));
        using var b = VxlanTunnel.Open(new VxlanSettings(VxlanTestBed.Vni, new IPEndPoint(IPAddress.IPv6Loopback, 0), [a.Settings.Local]), VxlanTestBed.Mtu,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, _bed.Clock);
        var frame = VxlanTestBed.Frame(Broadcast, MacB);
        Assert.True(b.TrySend(frame, VirtioNetHeader.None));
        Assert.False(got.TryTake(out _, TimeSpan.FromMilliseconds(200)));   // B is not A's peer yet
        Assert.Equal(1, a.Counters.DroppedNotAPeer);
        a.SetPeers([b.Settings.Local]);
        Assert.True(b.TrySend(frame, VirtioNetHeader.None));
        Assert.True(got.TryTake(out var received, TimeSpan.FromSeconds(5)));
        Assert.Equal(frame, received);
    }

    [Fact]
    public void Peers_of_another_address_family_are_refused()
    {
        var a = _bed.Open("127.0.0.1");
        Assert.Throws<ArgumentException>(() => a.Tunnel.SetPeers([new IPEndPoint(IPAddress.IPv6Loopback, 4789)]));
        Assert.Throws<ArgumentException>(() => VxlanTunnel.Open(new VxlanSettings(VxlanSettings.MaxVni + 1, new IPEndPoint(IPAddress.Loopback, 0), []),
            1500, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
    }
}
