using System.Net.Sockets;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>What the underlay must not get through: each bad datagram is dropped, counted under
/// exactly its reason, and the good datagram sent right after it from the same socket still
/// arrives (loopback keeps one socket's order), so nothing else is disturbed.</summary>
public sealed class VxlanBadInputTests : IDisposable
{
    private const ulong Remote = 0x02_00_00_00_00_0B, Guest = 0x02_00_00_00_00_0A, Broadcast = 0xFFFF_FFFF_FFFF;
    private readonly VxlanTestBed _bed = new();
    private readonly VxlanTestBed.Vtep _tunnel;
    private readonly Socket _peer;

    public VxlanBadInputTests()
    {
        _peer = _bed.Raw("127.0.0.2");
        _tunnel = _bed.Open("127.0.0.1", (System.Net.IPEndPoint)_peer.LocalEndPoint!);
        _tunnel.Tunnel.SetGuests([new MacAddress(Guest)]);
    }

    public void Dispose() => _bed.Dispose();

    public static TheoryData<string, byte[], string> BadDatagrams => new()
    {
        { "empty", [], nameof(VxlanCounters.DroppedMalformed) },
        { "truncated header", [0x08, 0, 0, 0, 0, 0x10], nameof(VxlanCounters.DroppedMalformed) },
        { "header only", VxlanTestBed.Encapsulate([]), nameof(VxlanCounters.DroppedMalformed) },
        { "inner frame shorter than Ethernet", VxlanTestBed.Encapsulate(new byte[13]), nameof(VxlanCounters.DroppedMalformed) },
        { "multicast source MAC", VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, 0x01_00_5E_00_00_01)), nameof(VxlanCounters.DroppedMalformed) },
        { "I flag clear", VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote), flags: 0), nameof(VxlanCounters.DroppedBadFlags) },
        { "GBP flag", VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote), flags: 0x88), nameof(VxlanCounters.DroppedBadFlags) },
        { "GPE P flag", VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote), flags: 0x0C), nameof(VxlanCounters.DroppedBadFlags) },
        { "wrong VNI", VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote), vni: VxlanTestBed.Vni + 1), nameof(VxlanCounters.DroppedWrongVni) },
        { "inner frame over the MTU", VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote, VxlanTestBed.Mtu + 14 + 4 + 1)), nameof(VxlanCounters.DroppedTooBig) },
        { "a local guest's MAC as source", VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Guest)), nameof(VxlanCounters.DroppedLocalSource) },
    };

    [Theory]
    [MemberData(nameof(BadDatagrams))]
    public void Is_dropped_and_counted_under_its_reason_only(string what, byte[] datagram, string counter)
    {
        var good = VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote, fill: 0x77));
        _peer.SendTo(datagram, _tunnel.Local);
        _peer.SendTo(good, _tunnel.Local);
        Assert.Equal(good.AsSpan(VxlanHeader.Length).ToArray(), _tunnel.Next());
        _tunnel.NothingMore();

        var counters = _tunnel.Tunnel.Counters;
        Assert.Equal(2, counters.DatagramsIn);
        foreach (var reason in new[] { nameof(VxlanCounters.DroppedNotAPeer), nameof(VxlanCounters.DroppedWrongVni), nameof(VxlanCounters.DroppedMalformed),
                     nameof(VxlanCounters.DroppedBadFlags), nameof(VxlanCounters.DroppedTooBig), nameof(VxlanCounters.DroppedLocalSource) })
            Assert.True((reason == counter ? 1L : 0L) == (long)typeof(VxlanCounters).GetProperty(reason)!.GetValue(counters)!, $"{what}: {reason}");
        // Only the good frame's source was learnt.
        Assert.Equal(1, counters.LearntMacs);
    }

    [Fact]
    public void A_sender_that_is_not_a_peer_is_dropped_even_with_a_perfect_datagram()
    {
        var stranger = _bed.Raw("127.0.0.9");
        stranger.SendTo(VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote + 1)), _tunnel.Local);
        _peer.SendTo(VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote)), _tunnel.Local);
        Assert.Equal(Remote, MacAddress.Read(_tunnel.Next().AsSpan(6)).Value);
        // The stranger's datagram may arrive after the peer's: wait for it to be counted.
        for (int i = 0; i < 100 && _tunnel.Tunnel.Counters.DroppedNotAPeer == 0; i++) Thread.Sleep(20);
        _tunnel.NothingMore();
        Assert.Equal(1, _tunnel.Tunnel.Counters.DroppedNotAPeer);
        Assert.Equal(1, _tunnel.Tunnel.Counters.LearntMacs);   // the stranger taught nothing
    }

    [Fact]
    public void A_peer_may_send_from_any_source_port()
    {
        // RFC 7348 section 5: the source port is a hash of the inner flow; the kernel picks one per flow.
        var samePeerOtherPort = _bed.Raw("127.0.0.2");
        samePeerOtherPort.SendTo(VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote)), _tunnel.Local);
        _tunnel.Next();
        Assert.Equal(0, _tunnel.Tunnel.Counters.DroppedNotAPeer);
    }

    [Fact]
    public void Reserved_fields_are_ignored_on_receipt()
    {
        var datagram = VxlanTestBed.Encapsulate(VxlanTestBed.Frame(Broadcast, Remote));
        datagram[1] = datagram[2] = datagram[3] = datagram[7] = 0xAB;   // RFC 7348 section 5: ignored on receipt
        _peer.SendTo(datagram, _tunnel.Local);
        _tunnel.Next();
    }

    [Fact]
    public void A_frame_over_the_mtu_is_not_sent_and_its_sender_gets_fragmentation_needed_from_the_destination()
    {
        var guestIp = Ipv4Address.Parse("10.9.0.2");
        var remoteIp = Ipv4Address.Parse("10.9.0.3");
        var big = new byte[VxlanTestBed.Mtu + 14 + 4 + 1];
        int tcpLength = big.Length - EthernetFrameWriter.L4Offset;
        big[EthernetFrameWriter.L4Offset + 12] = 0x50;   // a TCP header's data offset
        EthernetFrameWriter.FinishIpv4(big, new MacAddress(Remote), new MacAddress(Guest), guestIp, remoteIp, IpProtocol.Tcp, tcpLength);

        Assert.False(_tunnel.Tunnel.TrySend(big, VirtioNetHeader.None));
        Assert.Equal(1, _tunnel.Tunnel.Counters.DroppedTooBig);
        Assert.Equal(0, _tunnel.Tunnel.Counters.DatagramsOut);
        var reply = _tunnel.Next();   // handed up like a frame from a peer, so the switch takes it to the guest
        var p = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, reply);
        var ip = p.Extract<PacketDotNet.IPv4Packet>();
        var icmp = p.Extract<PacketDotNet.IcmpV4Packet>();
        Assert.Equal((remoteIp.ToString(), guestIp.ToString()), (ip.SourceAddress.ToString(), ip.DestinationAddress.ToString()));
        Assert.Equal(PacketDotNet.IcmpV4TypeCode.UnreachableFragmentationNeeded, icmp.TypeCode);
        Assert.Equal(VxlanTestBed.Mtu, (reply[EthernetFrameWriter.L4Offset + 6] << 8) | reply[EthernetFrameWriter.L4Offset + 7]);
        Assert.True(icmp.ValidIcmpChecksum);

        // One reply is all path MTU discovery needs: the rest of a segmentation job gets none.
        Assert.False(_tunnel.Tunnel.TrySend(big, VirtioNetHeader.None));
        _tunnel.NothingMore();
        _bed.Clock.Advance(VxlanTunnel.TooBigReplyInterval);
        Assert.False(_tunnel.Tunnel.TrySend(big, VirtioNetHeader.None));
        _tunnel.Next();
        Assert.Equal(3, _tunnel.Tunnel.Counters.DroppedTooBig);

        // The largest frame that fits goes out.
        Assert.True(_tunnel.Tunnel.TrySend(VxlanTestBed.Frame(Broadcast, Guest, VxlanTestBed.Mtu + 14 + 4), VirtioNetHeader.None));
    }
}
