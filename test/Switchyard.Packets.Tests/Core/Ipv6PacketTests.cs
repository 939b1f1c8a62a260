using System.Net;
using PacketDotNet;
using PacketDotNet.Ndp;
using static Switchyard.Packets.Tests.Core.CoreFrames;

namespace Switchyard.Packets.Tests.Core;

public class Ipv6PacketTests
{
    private static readonly Ipv6Address V6A = Ipv6Address.Parse("fd00:1:2:3::1");
    private static readonly Ipv6Address V6B = Ipv6Address.Parse("fd00:1:2:3:5054:ff:fe12:3456");

    [Fact]
    public void Eui64_MatchesRfc4291AppendixA()
    {
        // 52:54:00:12:34:56 -> 5054:00ff:fe12:3456 (U/L bit inverted, ff:fe in the middle).
        Assert.Equal(Ipv6Address.Parse("fe80::5054:ff:fe12:3456"), Ipv6Address.LinkLocal(MacB));
        Assert.Equal(Ipv6Address.Parse("fe80::ff:fe00:a"), Ipv6Address.LinkLocal(MacA));
        var prefix = Ipv6Prefix.Parse("fd00:1:2:3::/64");
        Assert.Equal(V6B, Ipv6Address.Slaac(prefix, MacB));
        Assert.True(prefix.Contains(V6B));
        Assert.Equal(V6A, prefix.FirstHost);
    }

    [Fact]
    public void SolicitedNodeAndMulticastMac()
    {
        var sn = V6B.SolicitedNode;
        Assert.Equal(Ipv6Address.Parse("ff02::1:ff12:3456"), sn);
        Assert.True(sn.IsMulticast);
        Assert.Equal(MacAddress.Parse("33:33:ff:12:34:56"), sn.MulticastMac);
        Assert.True(sn.MulticastMac.IsMulticast);
        Assert.Equal(MacAddress.Parse("33:33:00:00:00:01"), Ipv6Address.AllNodes.MulticastMac);
    }

    [Theory]
    [InlineData("::", false, false, false)]
    [InlineData("fe80::1", true, false, false)]
    [InlineData("febf::1", true, false, false)]
    [InlineData("fec0::1", false, false, false)]
    [InlineData("ff02::1", false, true, false)]
    [InlineData("::1", false, false, true)]
    public void AddressKinds(string text, bool linkLocal, bool multicast, bool loopback)
    {
        var a = Ipv6Address.Parse(text);
        Assert.Equal(linkLocal, a.IsLinkLocal);
        Assert.Equal(multicast, a.IsMulticast);
        Assert.Equal(loopback, a.IsLoopback);
        Assert.Equal(IPAddress.Parse(text), a.ToIPAddress());
        Assert.Equal(IPAddress.Parse(text).ToString(), a.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1.2.3.4")]
    [InlineData("fe80::1%eth0")]
    [InlineData("[::1]")]
    [InlineData("fd00::g")]
    public void Address_RejectsBadInput(string? text) => Assert.False(Ipv6Address.TryParse(text, out _));

    [Theory]
    [InlineData("fd00:1:2:3::/48", "/48")]
    [InlineData("fd00:1:2:3::/128", "/128")]
    [InlineData("fd00:1:2:3::/65", "/65")]
    [InlineData("fd00:1:2:3::1/64", "host bits")]
    [InlineData("fd00:1:2:3::", "not an IPv6 prefix")]
    [InlineData("10.0.0.0/64", "not an IPv6 address")]
    [InlineData("fd00::/x", "prefix length")]
    [InlineData("fd00::/+64", "prefix length")]
    [InlineData("ff02::/64", "unicast")]
    [InlineData("fe80::/64", "unicast")]
    public void Prefix_RefusesAllButA64(string text, string reason)
    {
        Assert.False(Ipv6Prefix.TryParseSlaac(text, out _, out var error));
        Assert.Contains(reason, error);
        Assert.DoesNotContain('\n', error!);
    }

    [Fact]
    public void StableUla_IsAStableFd64PerName()
    {
        var a = Ipv6Prefix.StableUla("lab");
        Assert.Equal(a, Ipv6Prefix.StableUla("lab"));
        Assert.NotEqual(a, Ipv6Prefix.StableUla("lab2"));
        Assert.Equal(64, a.PrefixLength);
        Assert.Equal(0xFDUL, a.Network.High >> 56);
        Assert.Equal(0UL, a.Network.High & 0xFFFF);   // subnet ID 0
        Assert.Equal(0UL, a.Network.Low);
        Assert.True(Ipv6Prefix.TryParseSlaac(a.ToString(), out var again, out _));
        Assert.Equal(a, again);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(56)]
    [InlineData(1232)]
    public void OurEcho_ParsesInPacketDotNet(int size)
    {
        var payload = Payload(size);
        var frame = new byte[EthernetFrameWriter.Ipv6L4Offset + 8 + size];
        var l4 = frame.AsSpan(EthernetFrameWriter.Ipv6L4Offset);
        l4[4] = 0x12; l4[5] = 0x34; l4[6] = 0; l4[7] = 9;
        payload.CopyTo(l4[8..]);
        Icmpv6Packet.Finish(l4, Icmpv6Packet.TypeEchoRequest, 0, 8 + size, V6B, V6A);
        int n = EthernetFrameWriter.FinishIpv6(frame, MacA, MacB, V6B, V6A, IpProtocol.Icmpv6, 8 + size);
        Assert.Equal(frame.Length, n);

        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.Equal(EthernetType.IPv6, eth.Type);
        var ip = eth.Extract<IPv6Packet>();
        Assert.Equal(V6B.ToIPAddress(), ip.SourceAddress);
        Assert.Equal(V6A.ToIPAddress(), ip.DestinationAddress);
        Assert.Equal(8 + size, ip.PayloadLength);
        var icmp = eth.Extract<IcmpV6Packet>();
        Assert.NotNull(icmp);
        Assert.Equal(IcmpV6Type.EchoRequest, icmp.Type);
        Assert.True(icmp.ValidIcmpChecksum);

        Assert.True(Ipv6Packet.TryParse(frame.AsSpan(14), out var ours));
        Assert.True(Icmpv6Packet.TryParse(ours.Payload, out var echo));
        Assert.True(echo.IsChecksumValid(ours.Source, ours.Destination));
        Assert.Equal(0x1234, echo.Identifier);
        Assert.Equal(9, echo.Sequence);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(999)]
    public void PacketDotNetUdpAndTcp_ChecksumsAgree(int size)
    {
        var payload = Payload(size, 3);
        var udp = new UdpPacket(5353, 53) { PayloadData = payload };
        var ip = new IPv6Packet(V6B.ToIPAddress(), V6A.ToIPAddress()) { PayloadPacket = udp, HopLimit = 64 };
        var eth = new EthernetPacket(Phys(MacB), Phys(MacA), EthernetType.IPv6) { PayloadPacket = ip };
        udp.UpdateCalculatedValues();
        ip.UpdateCalculatedValues();
        udp.UpdateUdpChecksum();
        Assert.True(Ipv6Packet.TryParse(eth.Bytes.AsSpan(14), out var ours));
        Assert.Equal(IpProtocol.Udp, ours.NextHeader);
        Assert.True(UdpDatagram.TryParse(ours.Payload, out var d));
        Assert.True(d.IsChecksumValid(ours.Source, ours.Destination));

        // Ours, read back by PacketDotNet.
        var frame = new byte[EthernetFrameWriter.Ipv6UdpPayloadOffset + size];
        payload.CopyTo(frame.AsSpan(EthernetFrameWriter.Ipv6UdpPayloadOffset));
        EthernetFrameWriter.FinishUdpV6(frame, MacA, MacB, V6A, V6B, 53, 5353, size);
        var parsed = ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame)).Extract<UdpPacket>();
        Assert.True(parsed.ValidUdpChecksum);
        Assert.Equal(payload, parsed.PayloadData ?? []);

        // TCP: our checksum over a PacketDotNet segment.
        var tcp = new TcpPacket(40000, 80) { PayloadData = payload, SequenceNumber = 7, Synchronize = size == 0 };
        var ip2 = new IPv6Packet(V6B.ToIPAddress(), V6A.ToIPAddress()) { PayloadPacket = tcp, HopLimit = 64 };
        ip2.UpdateCalculatedValues();
        tcp.UpdateTcpChecksum();
        Assert.True(tcp.ValidTcpChecksum);
        Assert.True(TcpSegment.TryParse(tcp.Bytes, out var seg));
        Assert.True(seg.IsChecksumValid(V6B, V6A));
        Assert.False(seg.IsChecksumValid(V6A, V6A));
    }

    [Fact]
    public void UdpZeroChecksum_IsInvalidOverIpv6()
    {
        var buf = new byte[8 + 4];
        UdpDatagram.WriteV6(buf, V6A, V6B, 1, 2, 4);
        buf[6] = buf[7] = 0;
        Assert.True(UdpDatagram.TryParse(buf, out var d));
        Assert.False(d.IsChecksumValid(V6A, V6B));
    }

    [Fact]
    public void NeighborAdvertisement_ParsesInPacketDotNet()
    {
        var frame = new byte[EthernetFrameWriter.Ipv6L4Offset + 32];
        int len = Icmpv6Packet.WriteNeighborAdvertisement(frame.AsSpan(EthernetFrameWriter.Ipv6L4Offset), V6A, V6B, V6A, MacA, solicited: true);
        Assert.Equal(32, len);
        EthernetFrameWriter.FinishIpv6(frame, MacB, MacA, V6A, V6B, IpProtocol.Icmpv6, len, hopLimit: 255);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var icmp = eth.Extract<IcmpV6Packet>();
        Assert.Equal(IcmpV6Type.NeighborAdvertisement, icmp.Type);
        Assert.True(icmp.ValidIcmpChecksum);
        var na = eth.Extract<NdpNeighborAdvertisementPacket>();
        Assert.NotNull(na);
        Assert.Equal(V6A.ToIPAddress(), na.TargetAddress);
        Assert.True(na.Router);
        Assert.True(na.Solicited);
        Assert.True(na.Override);
        var lla = Assert.IsType<NdpLinkLayerAddressOption>(Assert.Single(na.OptionsCollection));
        Assert.Equal(MacA, Mac(lla.LinkLayerAddress));

        Assert.True(Ipv6Packet.TryParse(frame.AsSpan(14), out var ip));
        Assert.Equal(255, ip.HopLimit);
        Assert.True(Icmpv6Packet.TryParse(ip.Payload, out var ours));
        Assert.True(ours.TryGetTarget(out var target));
        Assert.Equal(V6A, target);
        Assert.True(ours.TryGetNdOptions(out var options));
        Assert.True(options.TryRead(out var o));
        Assert.True(o.TryGetLinkLayerAddress(out var mac));
        Assert.Equal(MacA, mac);
        Assert.False(options.TryRead(out _));
        Assert.False(options.Malformed);
    }

    [Fact]
    public void RouterAdvertisement_ParsesInPacketDotNet()
    {
        var prefix = Ipv6Prefix.Parse("fd00:1:2:3::/64");
        var frame = new byte[EthernetFrameWriter.Ipv6L4Offset + 256];
        var gwLinkLocal = Ipv6Address.LinkLocal(MacA);
        int len = Icmpv6Packet.WriteRouterAdvertisement(frame.AsSpan(EthernetFrameWriter.Ipv6L4Offset), gwLinkLocal, Ipv6Address.AllNodes, MacA,
            1800, 1400, prefix, 86400, 14400, V6A, 600, "lab.yard.internal");
        // 16 fixed + 8 SLLA + 8 MTU + 32 prefix + 24 RDNSS + DNSSL (8 + 3lab4yard8internal0 = 8 + 19 -> 32)
        Assert.Equal(16 + 8 + 8 + 32 + 24 + 32, len);
        EthernetFrameWriter.FinishIpv6(frame, Ipv6Address.AllNodes.MulticastMac, MacA, gwLinkLocal, Ipv6Address.AllNodes, IpProtocol.Icmpv6, len, hopLimit: 255);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame.AsSpan(0, EthernetFrameWriter.Ipv6L4Offset + len).ToArray());
        var icmp = eth.Extract<IcmpV6Packet>();
        Assert.Equal(IcmpV6Type.RouterAdvertisement, icmp.Type);
        Assert.True(icmp.ValidIcmpChecksum);
        var ra = eth.Extract<NdpRouterAdvertisementPacket>();
        Assert.NotNull(ra);
        Assert.Equal(1800, ra.RouterLifetime);
        Assert.Equal(64, ra.CurrentHopLimit);
        var pi = Assert.Single(ra.OptionsCollection.OfType<NdpLinkPrefixInformationOption>());
        Assert.Equal(64, pi.PrefixLength);
        Assert.Equal(prefix.Network.ToIPAddress(), pi.Prefix);
        Assert.True(pi.OnLink);
        Assert.True(pi.AutonomousAddressConfiguration);
        Assert.Equal(1400u, Assert.Single(ra.OptionsCollection.OfType<NdpMtuOption>()).Mtu);

        // RDNSS and DNSSL (PacketDotNet does not decode them): walk them ourselves.
        Assert.True(Icmpv6Packet.TryParse(frame.AsSpan(EthernetFrameWriter.Ipv6L4Offset, len), out var ours));
        Assert.True(ours.TryGetNdOptions(out var reader));
        var types = new List<byte>();
        byte[]? dnssl = null, rdnss = null;
        while (reader.TryRead(out var o))
        {
            types.Add(o.Type);
            if (o.Type == NdOption.DnsSearchList) dnssl = o.Bytes.ToArray();
            if (o.Type == NdOption.RecursiveDnsServer) rdnss = o.Bytes.ToArray();
        }
        Assert.False(reader.Malformed);
        Assert.Equal([NdOption.SourceLinkLayerAddress, NdOption.Mtu, NdOption.PrefixInformation, NdOption.RecursiveDnsServer, NdOption.DnsSearchList], types);
        Assert.Equal(V6A, Ipv6Address.Read(rdnss.AsSpan(8)));
        Assert.Equal(600u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(rdnss.AsSpan(4)));
        Assert.Equal("\u0003lab\u0004yard\u0008internal\0"u8.ToArray(), dnssl.AsSpan(8, 19).ToArray());
        Assert.All(dnssl.AsSpan(27).ToArray(), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 0, 0, 0, 0, 0, 0 })]          // zero length
    [InlineData(new byte[] { 1, 2, 0, 0, 0, 0, 0, 0 })]          // runs past the end
    [InlineData(new byte[] { 1 })]                              // a lone type byte
    public void NdOptions_MalformedStopsTheWalk(byte[] options)
    {
        var reader = new NdOptionReader(options);
        Assert.False(reader.TryValidate(out _));
    }

    [Fact]
    public void Parse_RejectsShortWrongVersionAndOverlongPayloadLength()
    {
        var p = new byte[60];
        Ipv6Packet.WriteHeader(p, V6A, V6B, IpProtocol.Udp, 20);
        Assert.True(Ipv6Packet.TryParse(p, out var ok));
        Assert.Equal(60, ok.Bytes.Length);
        Assert.False(Ipv6Packet.TryParse(p.AsSpan(0, 59), out _));
        Assert.False(Ipv6Packet.TryParse(p.AsSpan(0, 39), out _));
        p[0] = 0x45;
        Assert.False(Ipv6Packet.TryParse(p, out _));
        // Link-layer padding is trimmed.
        var padded = new byte[80];
        Ipv6Packet.WriteHeader(padded, V6A, V6B, IpProtocol.Udp, 8);
        Assert.True(Ipv6Packet.TryParse(padded, out var trimmed));
        Assert.Equal(48, trimmed.Bytes.Length);
    }

    [Fact]
    public void Fuzz_Ipv6AndNdReadersNeverThrow()
    {
        var rng = new Random(6);
        var seed = new byte[EthernetFrameWriter.Ipv6L4Offset + 256];
        int len = Icmpv6Packet.WriteRouterAdvertisement(seed.AsSpan(EthernetFrameWriter.Ipv6L4Offset), V6A, Ipv6Address.AllNodes, MacA,
            0, 1500, Ipv6Prefix.Parse("fd00::/64"), 1, 1, V6A, 1, "a.b");
        EthernetFrameWriter.FinishIpv6(seed, MacB, MacA, V6A, Ipv6Address.AllNodes, IpProtocol.Icmpv6, len);
        var frame = seed.AsSpan(0, EthernetFrameWriter.Ipv6L4Offset + len).ToArray();
        for (int i = 0; i < 20000; i++)
        {
            var m = frame.AsSpan(0, rng.Next(frame.Length + 1)).ToArray();
            for (int k = rng.Next(1, 6); k > 0 && m.Length > 0; k--) m[rng.Next(m.Length)] = (byte)rng.Next(256);
            if (!EthernetFrame.TryParse(m, out var eth) || !Ipv6Packet.TryParse(eth.Payload, out var ip)) continue;
            _ = ip.ErrorQuote.Length;
            if (!Icmpv6Packet.TryParse(ip.Payload, out var icmp)) continue;
            _ = icmp.IsChecksumValid(ip.Source, ip.Destination);
            _ = icmp.TryGetTarget(out _);
            if (icmp.TryGetNdOptions(out var reader)) _ = reader.TryValidate(out _);
            var r2 = new NdOptionReader(ip.Payload);
            while (r2.TryRead(out var o)) _ = o.TryGetLinkLayerAddress(out _);
        }
    }
}
