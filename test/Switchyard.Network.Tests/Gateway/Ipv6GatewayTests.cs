using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Gateway;

/// <summary>The gateway's IPv6 side with a scripted guest: Neighbor Discovery, router
/// advertisements, echo, DNS (AAAA, ip6.arpa), errors, and NAT66 to the host's ::1.</summary>
public sealed class Ipv6GatewayTests : IDisposable
{
    private static readonly Ipv6Prefix Prefix = Ipv6Prefix.Parse("fd00:88::/64");
    private static readonly Ipv6Address GatewayV6 = Prefix.FirstHost;
    private static readonly Ipv6Address GatewayLinkLocal = Ipv6Address.LinkLocal(GatewayMac);
    private static readonly Ipv6Address LinkLocalA = Ipv6Address.LinkLocal(MacA);
    private static readonly Ipv6Address SlaacA = Ipv6Address.Slaac(Prefix, MacA);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly List<VirtualNetwork> _nets = [];
    // The gateway's unsolicited Router Advertisements run on this clock: they come only when a test
    // moves it, never in the middle of another test's exchange.
    private readonly FakeTimeProvider _time = new();

    public void Dispose()
    {
        foreach (var n in _nets) n.Dispose();
    }

    private (VirtualNetwork Net, FakeTransport A) Network(NetworkMode mode = NetworkMode.Nat)
    {
        var net = new VirtualNetwork(new NetworkConfig("v6net", mode, Subnet, 1500, Domain, GatewayMac, () => [], TimeSpan.FromHours(1), Ipv6: Prefix),
            new FakeEvents(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, time: _time);
        _nets.Add(net);
        var a = Attach(net, "alpha", MacA, IpA);
        a.Clear();
        return (net, a);
    }

    /// <summary>A frame carrying <paramref name="l4"/>, its checksum filled at the offset its protocol has.</summary>
    private static byte[] Frame(MacAddress dstMac, MacAddress srcMac, Ipv6Address src, Ipv6Address dst, byte next, byte[] l4, byte hopLimit = 64)
    {
        var f = new byte[EthernetFrameWriter.Ipv6L4Offset + l4.Length];
        l4.CopyTo(f, EthernetFrameWriter.Ipv6L4Offset);
        int checksumAt = next switch { IpProtocol.Icmpv6 => 2, IpProtocol.Udp => 6, _ => 16 };
        Ipv6Packet.WriteChecksum(f.AsSpan(EthernetFrameWriter.Ipv6L4Offset), src, dst, next, checksumAt);
        EthernetFrameWriter.FinishIpv6(f, dstMac, srcMac, src, dst, next, l4.Length, hopLimit);
        return f;
    }

    private static byte[] NeighborSolicitation(Ipv6Address target, bool withSourceLinkLayer = true)
    {
        var m = new byte[24 + (withSourceLinkLayer ? 8 : 0)];
        m[0] = Icmpv6Packet.TypeNeighborSolicitation;
        target.Write(m.AsSpan(8));
        if (withSourceLinkLayer) NdOption.WriteLinkLayerAddress(m.AsSpan(24), NdOption.SourceLinkLayerAddress, MacA);
        return m;
    }

    private static Icmpv6Packet ParseIcmp(byte[] frame, out Ipv6Packet ip)
    {
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        Assert.Equal(EtherType.IPv6, eth.EtherType);
        Assert.True(Ipv6Packet.TryParse(eth.Payload, out ip));
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        Assert.True(Icmpv6Packet.TryParse(ip.Payload, out var icmp));
        Assert.True(icmp.IsChecksumValid(ip.Source, ip.Destination));
        return icmp;
    }

    [Fact]
    public void NeighborSolicitation_ForTheGatewayAddresses_IsAnswered()
    {
        var (_, a) = Network();
        foreach (var target in new[] { GatewayV6, GatewayLinkLocal })
        {
            a.Clear();
            a.Inject(Frame(target.SolicitedNode.MulticastMac, MacA, LinkLocalA, target.SolicitedNode, IpProtocol.Icmpv6, NeighborSolicitation(target), 255));
            var frame = Assert.Single(a.Sent);
            Assert.Equal(MacA, MacAddress.Read(frame));
            var na = ParseIcmp(frame, out var ip);
            Assert.Equal(Icmpv6Packet.TypeNeighborAdvertisement, na.Type);
            Assert.Equal(255, ip.HopLimit);
            Assert.Equal(LinkLocalA, ip.Destination);
            Assert.True(na.TryGetTarget(out var t));
            Assert.Equal(target, t);
            Assert.Equal(0xE0, na.Bytes[4]);   // router, solicited, override
            Assert.True(na.TryGetNdOptions(out var options));
            Assert.True(options.TryRead(out var tlla));
            Assert.True(tlla.TryGetLinkLayerAddress(out var mac));
            Assert.Equal(GatewayMac, mac);
        }
    }

    [Fact]
    public void NeighborSolicitation_ForOthersOrWithAHopLimitBelow255_GetsNothing()
    {
        var (net, a) = Network();
        a.Inject(Frame(SlaacA.SolicitedNode.MulticastMac, MacA, LinkLocalA, Ipv6Address.Slaac(Prefix, MacB).SolicitedNode, IpProtocol.Icmpv6,
            NeighborSolicitation(Ipv6Address.Slaac(Prefix, MacB)), 255));
        Assert.Empty(a.Sent);
        a.Inject(Frame(GatewayV6.SolicitedNode.MulticastMac, MacA, LinkLocalA, GatewayV6.SolicitedNode, IpProtocol.Icmpv6, NeighborSolicitation(GatewayV6), 64));
        Assert.Empty(a.Sent);
        Assert.True(net.Gateway.Counters.DropsByReason().ContainsKey("malformed"));
    }

    [Fact]
    public void DuplicateAddressDetection_OfTheGatewayAddress_IsDefendedToAllNodes()
    {
        var (_, a) = Network();
        a.Inject(Frame(GatewayV6.SolicitedNode.MulticastMac, MacA, Ipv6Address.Any, GatewayV6.SolicitedNode, IpProtocol.Icmpv6,
            NeighborSolicitation(GatewayV6, withSourceLinkLayer: false), 255));
        var frame = Assert.Single(a.Sent);
        Assert.Equal(Ipv6Address.AllNodes.MulticastMac, MacAddress.Read(frame));
        var na = ParseIcmp(frame, out var ip);
        Assert.Equal(Ipv6Address.AllNodes, ip.Destination);
        Assert.Equal(0xA0, na.Bytes[4]);   // router, override; not solicited (RFC 4861 §7.2.4)
    }

    [Fact]
    public void Unsolicited_advertisements_come_after_a_second_then_every_interval_to_each_guest()
    {
        var (net, a) = Network();
        var b = new FakeTransport();
        net.Attach(new EndpointConfig("beta", MacB, IpB, DefaultRoute: false), b);
        static bool IsRa(byte[] f) => f.Length > 60 && f[EthernetFrameWriter.Ipv6L4Offset] == Icmpv6Packet.TypeRouterAdvertisement;
        // beta never sent a frame, so the switch floods what is addressed to it: match by destination MAC.
        static bool IsRaTo(byte[] f, MacAddress mac) => IsRa(f) && MacAddress.Read(f) == mac;

        _time.Advance(Switchyard.Network.Gateway.NeighborDiscovery.FirstAdvertisement - TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(a.Sent, IsRa);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        // One to each guest's MAC, with its own router lifetime (beta's default route is elsewhere).
        var toA = Assert.Single(a.Sent, f => IsRaTo(f, MacA));
        Assert.Equal(600, BinaryPrimitives.ReadUInt16BigEndian(ParseIcmp(toA, out _).Bytes[6..]));
        var toB = Assert.Single(b.Sent, f => IsRaTo(f, MacB));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(ParseIcmp(toB, out _).Bytes[6..]));

        _time.Advance(Switchyard.Network.Gateway.NeighborDiscovery.AdvertiseInterval);
        Assert.Equal(2, a.Sent.Count(f => IsRaTo(f, MacA)));
    }

    [Theory]
    [InlineData(NetworkMode.Nat, 600)]
    [InlineData(NetworkMode.Host, 600)]
    [InlineData(NetworkMode.Internal, 0)]
    public void RouterSolicitation_GetsAnAdvertisementForSlaac(NetworkMode mode, int routerLifetime)
    {
        var (_, a) = Network(mode);
        a.Inject(Frame(Ipv6Address.AllRouters.MulticastMac, MacA, LinkLocalA, Ipv6Address.AllRouters, IpProtocol.Icmpv6,
            [Icmpv6Packet.TypeRouterSolicitation, 0, 0, 0, 0, 0, 0, 0, NdOption.SourceLinkLayerAddress, 1, 0x02, 0xaa, 0, 0, 0, 0x0a], 255));
        var frame = a.WaitFor(f => f.Length > 60 && f[EthernetFrameWriter.Ipv6L4Offset] == Icmpv6Packet.TypeRouterAdvertisement, Wait)!;
        Assert.NotNull(frame);
        var ra = ParseIcmp(frame, out var ip);
        Assert.Equal(GatewayLinkLocal, ip.Source);
        Assert.Equal(LinkLocalA, ip.Destination);
        Assert.Equal(255, ip.HopLimit);
        Assert.Equal(0, ra.Bytes[5]);   // M=0, O=0
        Assert.Equal(routerLifetime, BinaryPrimitives.ReadUInt16BigEndian(ra.Bytes[6..]));
        Assert.True(ra.TryGetNdOptions(out var options));
        bool prefix = false, rdnss = false, dnssl = false, mtu = false;
        while (options.TryRead(out var o))
        {
            switch (o.Type)
            {
                case NdOption.PrefixInformation:
                    Assert.Equal(64, o.Bytes[2]);
                    Assert.Equal(0xC0, o.Bytes[3]);   // on-link, autonomous
                    Assert.Equal(Prefix.Network, Ipv6Address.Read(o.Bytes[16..]));
                    prefix = true;
                    break;
                case NdOption.RecursiveDnsServer:
                    Assert.Equal(GatewayV6, Ipv6Address.Read(o.Bytes[8..]));
                    rdnss = true;
                    break;
                case NdOption.DnsSearchList:
                    Assert.Equal("\u0004test\u0008internal\0"u8.ToArray(), o.Bytes.Slice(8, 15).ToArray());
                    dnssl = true;
                    break;
                case NdOption.Mtu:
                    Assert.Equal(1500u, BinaryPrimitives.ReadUInt32BigEndian(o.Bytes[4..]));
                    mtu = true;
                    break;
            }
        }
        Assert.True(prefix && rdnss && dnssl && mtu);
    }

    [Fact]
    public void RouterAdvertisements_GiveNoDefaultRouteToAGuestWhoseDefaultRouteIsElsewhere()
    {
        var (net, a) = Network();
        var b = new FakeTransport();
        net.Attach(new EndpointConfig("beta", MacB, IpB, DefaultRoute: false), b);
        var linkLocalB = Ipv6Address.LinkLocal(MacB);
        foreach (var (t, mac, src, lifetime) in new[] { (a, MacA, LinkLocalA, 600), (b, MacB, linkLocalB, 0), (b, MacB, Ipv6Address.Any, 0) })
        {
            t.Clear();
            t.Inject(Frame(Ipv6Address.AllRouters.MulticastMac, mac, src, Ipv6Address.AllRouters, IpProtocol.Icmpv6,
                [Icmpv6Packet.TypeRouterSolicitation, 0, 0, 0, 0, 0, 0, 0], 255));
            var frame = t.WaitFor(f => f.Length > 60 && f[EthernetFrameWriter.Ipv6L4Offset] == Icmpv6Packet.TypeRouterAdvertisement, Wait)!;
            Assert.NotNull(frame);
            Assert.Equal(mac, MacAddress.Read(frame));   // to the asker's MAC only, even from ::
            var ra = ParseIcmp(frame, out var ip);
            Assert.Equal(src.IsUnspecified ? Ipv6Address.AllNodes : src, ip.Destination);
            Assert.Equal(lifetime, BinaryPrimitives.ReadUInt16BigEndian(ra.Bytes[6..]));
        }
    }

    [Fact]
    public void Echo_ToEitherGatewayAddress_IsAnsweredFromIt()
    {
        var (_, a) = Network();
        foreach (var (src, dst) in new[] { (SlaacA, GatewayV6), (LinkLocalA, GatewayLinkLocal) })
        {
            a.Clear();
            a.Inject(Frame(GatewayMac, MacA, src, dst, IpProtocol.Icmpv6, [Icmpv6Packet.TypeEchoRequest, 0, 0, 0, 0x12, 0x34, 0, 7, 1, 2, 3]));
            var reply = ParseIcmp(Assert.Single(a.Sent), out var ip);
            Assert.Equal(Icmpv6Packet.TypeEchoReply, reply.Type);
            Assert.Equal(dst, ip.Source);
            Assert.Equal(src, ip.Destination);
            Assert.Equal(0x1234, reply.Identifier);
            Assert.Equal(7, reply.Sequence);
            Assert.Equal(new byte[] { 1, 2, 3 }, reply.Bytes[8..].ToArray());
        }
    }

    [Fact]
    public void Spoofed_Ipv6Sources_AreDropped()
    {
        var (net, a) = Network();
        a.Inject(Frame(GatewayMac, MacA, Ipv6Address.Slaac(Prefix, MacB), GatewayV6, IpProtocol.Icmpv6, [Icmpv6Packet.TypeEchoRequest, 0, 0, 0, 0, 1, 0, 1]));
        a.Inject(Frame(GatewayMac, MacA, Ipv6Address.Parse("fe80::1"), GatewayLinkLocal, IpProtocol.Icmpv6, [Icmpv6Packet.TypeEchoRequest, 0, 0, 0, 0, 1, 0, 1]));
        Assert.Empty(a.Sent);
        Assert.True(net.TryGetEndpoint("alpha", out var port));
        Assert.Equal(2, port.Counters.DropsByReason()["spoofed-ip"]);
    }

    private static byte[] Udp(ushort src, ushort dst, byte[] payload)
    {
        var u = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(u, src);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), dst);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        payload.CopyTo(u, 8);
        return u;
    }

    private static DnsReply Ask(FakeTransport a, string name, DnsType type)
    {
        a.Clear();
        a.Inject(Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Udp, Udp(40000, 53, DnsTestMessages.Query(name, type, id: 0x4242))));
        var frame = a.WaitFor(_ => true, Wait)!;
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        Assert.True(Ipv6Packet.TryParse(eth.Payload, out var ip));
        Assert.Equal(GatewayV6, ip.Source);
        Assert.True(UdpDatagram.TryParse(ip.Payload, out var udp));
        Assert.True(udp.IsChecksumValid(ip.Source, ip.Destination));
        Assert.Equal(53, udp.SourcePort);
        return DnsTestMessages.Parse(udp.Payload);
    }

    [Fact]
    public void Dns_OverIpv6_AnswersAaaaAndIp6ArpaPtr()
    {
        var (_, a) = Network();
        var aaaa = Ask(a, "alpha.test.internal", DnsType.AAAA);
        Assert.Equal(DnsResponseCode.NoError, aaaa.Header.ResponseCode);
        var answer = Assert.Single(aaaa.Answers);
        Assert.Equal(DnsType.AAAA, answer.Type);
        Assert.Equal(SlaacA.ToIPAddress(), new IPAddress(answer.Data));

        var gw = Assert.Single(Ask(a, "gateway.test.internal", DnsType.AAAA).Answers);
        Assert.Equal(GatewayV6.ToIPAddress(), new IPAddress(gw.Data));

        var both = Ask(a, "alpha.test.internal", DnsType.ANY);
        Assert.Equal([DnsType.A, DnsType.AAAA], both.Answers.Select(r => r.Type));

        var ptr = Ask(a, DnsName.FormatReverseIpv6(SlaacA.ToIPAddress().GetAddressBytes()), DnsType.PTR);
        Assert.Equal("alpha.test.internal", Assert.Single(ptr.Answers).Target);

        var unknown = Ask(a, DnsName.FormatReverseIpv6(Ipv6Address.Slaac(Prefix, MacB).ToIPAddress().GetAddressBytes()), DnsType.PTR);
        Assert.Equal(DnsResponseCode.NXDomain, unknown.Header.ResponseCode);
        Assert.Equal(DnsResponseCode.NXDomain, Ask(a, "nobody.test.internal", DnsType.AAAA).Header.ResponseCode);
    }

    [Fact]
    public void Dns_OnAnIpv4OnlyNetwork_AnswersAaaaWithNoData()
    {
        using var net = Create();
        var a = Attach(net, "alpha", MacA, IpA);
        a.Clear();
        a.Inject(Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 40000, 53, DnsTestMessages.Query("alpha.test.internal", DnsType.AAAA, id: 1)));
        var frame = a.WaitFor(_ => true, Wait)!;
        Assert.True(Frames.TryIpv4(frame, out var ip));
        Assert.True(UdpDatagram.TryParse(ip.Payload, out var udp));
        var m = DnsTestMessages.Parse(udp.Payload);
        Assert.Equal(DnsResponseCode.NoError, m.Header.ResponseCode);
        Assert.Empty(m.Answers);
    }

    [Fact]
    public void Udp_ToAClosedGatewayPort_IsPortUnreachable()
    {
        var (_, a) = Network();
        a.Inject(Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Udp, Udp(40000, 9, [1, 2, 3])));
        // nat mode: port 9 goes to the host's ::1, where nothing listens: the flow's error is port unreachable too.
        var frame = a.WaitFor(f => f.Length > EthernetFrameWriter.Ipv6L4Offset && f[20] == IpProtocol.Icmpv6, Wait);
        Assert.NotNull(frame);
        var icmp = ParseIcmp(frame, out var ip);
        Assert.Equal(Icmpv6Packet.TypeDestinationUnreachable, icmp.Type);
        Assert.Equal(4, icmp.Code);
        Assert.Equal(SlaacA, ip.Destination);
    }

    [Fact]
    public void Internal_TcpToTheGateway_IsReset_AndRoutedTrafficIsRefused()
    {
        var (net, a) = Network(NetworkMode.Internal);
        Assert.Null(net.Nat);
        var syn = new byte[20];
        TcpSegment.WriteHeader(syn, 40000, 80, 1000, 0, TcpFlags.Syn, 65535, default);
        a.Inject(Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Tcp, syn));
        Assert.True(EthernetFrame.TryParse(Assert.Single(a.Sent), out var eth));
        Assert.True(Ipv6Packet.TryParse(eth.Payload, out var ip));
        Assert.True(TcpSegment.TryParse(ip.Payload, out var rst));
        Assert.True(rst.IsChecksumValid(ip.Source, ip.Destination));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(1001u, rst.AcknowledgmentNumber);
        a.Clear();
        // An outside address (the guest has no default route, but may add one): refused at once,
        // administratively prohibited, as the IPv4 side does.
        a.Inject(Frame(GatewayMac, MacA, SlaacA, Ipv6Address.Parse("2001:db8::1"), IpProtocol.Tcp, syn));
        var refusal = ParseIcmp(Assert.Single(a.Sent), out var from);
        Assert.Equal(Icmpv6Packet.TypeDestinationUnreachable, refusal.Type);
        Assert.Equal(1, refusal.Code);
        Assert.Equal(GatewayV6, from.Source);
    }

    [Fact]
    public void Host_TcpToTheGatewayV6_ReachesTheHostsIpv6Loopback()
    {
        if (!Socket.OSSupportsIPv6) return;
        using var server = new TcpListener(IPAddress.IPv6Loopback, 0);
        server.Start();
        int port = ((IPEndPoint)server.LocalEndpoint).Port;
        var (_, a) = Network(NetworkMode.Host);
        var options = new byte[4];
        TcpOptions.WriteSynOptions(options, 1440, null);
        var syn = new byte[24];
        TcpSegment.WriteHeader(syn, 40000, (ushort)port, 5000, 0, TcpFlags.Syn, 65535, options);
        a.Inject(Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Tcp, syn));
        using var accepted = server.AcceptSocket();
        Assert.Equal(IPAddress.IPv6Loopback, ((IPEndPoint)accepted.RemoteEndPoint!).Address);
        var frame = a.WaitFor(f => f.Length >= EthernetFrameWriter.Ipv6L4Offset + 20 && f[20] == IpProtocol.Tcp, Wait);
        Assert.NotNull(frame);
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        Assert.True(Ipv6Packet.TryParse(eth.Payload, out var ip));
        Assert.Equal(GatewayV6, ip.Source);
        Assert.Equal(SlaacA, ip.Destination);
        Assert.True(TcpSegment.TryParse(ip.Payload, out var synAck));
        Assert.True(synAck.IsChecksumValid(ip.Source, ip.Destination));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(5001u, synAck.AcknowledgmentNumber);
        Assert.Equal((ushort)(1500 - 60), synAck.ReadOptions().Mss);
    }

    [Fact]
    public void Host_OutsideIpv6_IsAdministrativelyProhibited()
    {
        var (_, a) = Network(NetworkMode.Host);
        a.Inject(Frame(GatewayMac, MacA, SlaacA, Ipv6Address.Parse("2001:db8::1"), IpProtocol.Udp, Udp(40000, 53, [1])));
        var icmp = ParseIcmp(Assert.Single(a.Sent), out var ip);
        Assert.Equal(Icmpv6Packet.TypeDestinationUnreachable, icmp.Type);
        Assert.Equal(1, icmp.Code);
        Assert.Equal(GatewayV6, ip.Source);
    }

    /// <summary>Mutated IPv6 frames (fixed seed) from the guest's own addresses: the gateway never
    /// throws, and whatever it sends parses with right checksums.</summary>
    [Fact]
    public void MutatedIpv6Frames_NeverThrow_AndGatewayRepliesAlwaysParse()
    {
        var (_, a) = Network(NetworkMode.Internal);
        var syn = new byte[20];
        TcpSegment.WriteHeader(syn, 40000, 53, 1, 0, TcpFlags.Syn, 1000, default);
        byte[][] seeds =
        [
            Frame(GatewayV6.SolicitedNode.MulticastMac, MacA, LinkLocalA, GatewayV6.SolicitedNode, IpProtocol.Icmpv6, NeighborSolicitation(GatewayV6), 255),
            Frame(Ipv6Address.AllRouters.MulticastMac, MacA, LinkLocalA, Ipv6Address.AllRouters, IpProtocol.Icmpv6, [Icmpv6Packet.TypeRouterSolicitation, 0, 0, 0, 0, 0, 0, 0], 255),
            Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Icmpv6, [Icmpv6Packet.TypeEchoRequest, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]),
            Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Udp, Udp(40000, 53, DnsTestMessages.Query("alpha.test.internal", DnsType.AAAA))),
            Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Udp, Udp(40000, 99, [1, 2])),
            Frame(GatewayMac, MacA, SlaacA, GatewayV6, IpProtocol.Tcp, syn),
        ];
        var rng = new Random(6106);
        for (int i = 0; i < 5000; i++)
        {
            var f = (byte[])seeds[rng.Next(seeds.Length)].Clone();
            // Keep the Ethernet header and the IPv6 source (anti-spoofing would stop the rest); mutate after it.
            for (int k = rng.Next(0, 4); k > 0; k--)
            {
                int at = rng.Next(EthernetFrame.HeaderLength, f.Length);
                if (at is >= 22 and < 38) continue;
                f[at] = (byte)rng.Next(256);
            }
            if (rng.Next(4) == 0) f = f[..rng.Next(EthernetFrame.HeaderLength, f.Length + 1)];
            a.Inject(f);
        }
        int replies = 0;
        foreach (var f in a.Sent)
        {
            Assert.True(EthernetFrame.TryParse(f, out var eth));
            if (eth.Source != GatewayMac || eth.EtherType != EtherType.IPv6) continue;
            replies++;
            Assert.True(Ipv6Packet.TryParse(eth.Payload, out var ip));
            Assert.Equal(eth.Payload.Length, ip.Bytes.Length);
            Assert.True(Ipv6Packet.IsChecksumValid(ip.Source, ip.Destination, ip.NextHeader, ip.Payload), $"next header {ip.NextHeader}");
            Assert.NotNull(PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, f));
        }
        Assert.True(replies > 100, $"only {replies} replies");
    }
}
