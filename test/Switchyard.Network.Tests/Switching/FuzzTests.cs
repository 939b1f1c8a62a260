using System.Buffers.Binary;
using PacketDotNet;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Switching;

public class FuzzTests
{
    /// <summary>Random frames (fixed seed), many of them near-valid so they reach the gateway's
    /// services, never throw and never make the gateway emit a frame that does not parse.</summary>
    [Fact]
    public void RandomFrames_NeverThrow_AndGatewayRepliesAlwaysParse()
    {
        using var net = Create();
        var a = Attach(net, "alpha", MacA, IpA);
        var b = Attach(net, "beta", MacB, IpB);
        var rng = new Random(20250301);
        for (int i = 0; i < 5000; i++)
        {
            var frame = Generate(rng);
            a.Inject(frame);
        }

        int checkedFrames = 0;
        foreach (var f in a.Sent.Concat(b.Sent))
        {
            Assert.True(EthernetFrame.TryParse(f, out var eth));
            if (eth.Source != GatewayMac) continue; // a flooded guest frame, passed through untouched
            checkedFrames++;
            var p = Packet.ParsePacket(LinkLayers.Ethernet, f);
            Assert.NotNull(p);
            if (eth.EtherType == EtherType.IPv4)
            {
                Assert.True(Ipv4Packet.TryParse(eth.Payload, out var ip));
                Assert.True(ip.IsHeaderChecksumValid);
                Assert.True(p.Extract<IPv4Packet>().ValidIPChecksum);
                switch (ip.Protocol)
                {
                    case IpProtocol.Udp:
                        Assert.True(UdpDatagram.TryParse(ip.Payload, out var udp));
                        Assert.True(udp.IsChecksumValid(ip.Source, ip.Destination));
                        break;
                    case IpProtocol.Icmp:
                        Assert.True(IcmpPacket.TryParse(ip.Payload, out var icmp));
                        Assert.True(icmp.IsChecksumValid);
                        break;
                    case IpProtocol.Tcp:
                        Assert.True(TcpSegment.TryParse(ip.Payload, out var tcp));
                        Assert.True(tcp.IsChecksumValid(ip.Source, ip.Destination));
                        break;
                    default:
                        Assert.Fail($"unexpected protocol {ip.Protocol}");
                        break;
                }
            }
            else Assert.Equal(EtherType.Arp, eth.EtherType);
        }
        Assert.True(checkedFrames > 100, $"only {checkedFrames} gateway replies: the generator misses the services");
    }

    private static byte[] Generate(Random rng)
    {
        byte[] frame = rng.Next(8) switch
        {
            0 => RandomBytes(rng, rng.Next(0, 200)),
            1 => Frames.Arp(rng.Next(2) == 0 ? MacAddress.Broadcast : GatewayMac, (ushort)rng.Next(0, 3), MacA,
                    rng.Next(3) == 0 ? Ipv4Address.Any : IpA, MacAddress.Zero, rng.Next(2) == 0 ? GatewayIp : IpB),
            2 => Frames.IcmpEcho(GatewayMac, MacA, IpA, GatewayIp, (ushort)rng.Next(), (ushort)rng.Next(), RandomBytes(rng, rng.Next(0, 1400))),
            3 => Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, (ushort)rng.Next(1, 65536), rng.Next(3) == 0 ? (ushort)rng.Next(1, 65536) : (ushort)53,
                    rng.Next(2) == 0 ? DnsTestMessages.Query(RandomName(rng), (DnsType)rng.Next(0, 40), (ushort)rng.Next(), edns: rng.Next(2) == 0, opcode: (byte)rng.Next(3))
                                     : RandomBytes(rng, rng.Next(0, 300))),
            4 => Dhcp(rng),
            5 => Frames.Tcp(GatewayMac, MacA, IpA, GatewayIp, (ushort)rng.Next(40000, 40010), rng.Next(4) == 0 ? (ushort)rng.Next(1, 100) : (ushort)53,
                    (uint)rng.Next(), (uint)rng.Next(), (TcpFlags)rng.Next(0, 64), RandomBytes(rng, rng.Next(0, 60))),
            6 => Frames.Udp(MacAddress.Broadcast, MacA, IpA, Ipv4Address.Broadcast, 68, 67, RandomBytes(rng, rng.Next(0, 400))),
            _ => Frames.Raw(rng.Next(2) == 0 ? GatewayMac : MacAddress.Broadcast, MacA, (ushort)(rng.Next(2) == 0 ? EtherType.IPv4 : rng.Next()), rng.Next(0, 200)),
        };
        // Flip a few bytes in most frames, but keep the Ethernet source (or anti-spoofing drops it all).
        int flips = rng.Next(4) == 0 ? 0 : rng.Next(1, 4);
        for (int k = 0; k < flips && frame.Length > 12; k++)
        {
            int at = rng.Next(12, frame.Length);
            frame[at] = (byte)rng.Next(256);
        }
        if (rng.Next(3) == 0) FixIpChecksum(frame);
        return frame;
    }

    private static byte[] Dhcp(Random rng)
    {
        var msg = new byte[600];
        var type = (DhcpMessageType)rng.Next(1, 9);
        int n = DhcpClientMessage.WriteRequest(msg, type, (uint)rng.Next(), MacA,
            rng.Next(2) == 0 ? Ipv4Address.Any : IpA,
            rng.Next(2) == 0 ? null : (rng.Next(2) == 0 ? IpA : IpB),
            rng.Next(2) == 0 ? null : (rng.Next(2) == 0 ? GatewayIp : IpB));
        return Frames.Udp(MacAddress.Broadcast, MacA, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, msg.AsSpan(0, n));
    }

    private static void FixIpChecksum(byte[] frame)
    {
        if (frame.Length < EthernetFrameWriter.L4Offset || BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) != EtherType.IPv4) return;
        var h = frame.AsSpan(EthernetFrame.HeaderLength);
        int hl = (h[0] & 0xF) * 4;
        if (hl < 20 || hl > h.Length) return;
        h[10] = h[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], Checksum.Compute(h[..hl]));
    }

    private static string RandomName(Random rng) => rng.Next(4) switch
    {
        0 => "alpha",
        1 => "alpha.test.internal",
        2 => $"{rng.Next(256)}.0.88.10.in-addr.arpa",
        _ => $"h{rng.Next(100)}.test.internal",
    };

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }
}
