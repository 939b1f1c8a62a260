using System.Buffers.Binary;
using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>TCP segments over IPv4 or IPv6 with every header field under the test's control and
/// valid checksums, and the harness that runs a stream of them through a <see cref="TcpCoalescer"/>.</summary>
internal static class TcpSegments
{
    public static readonly MacAddress MacA = new(0x02_00_00_00_00_0A), MacB = new(0x02_00_00_00_00_0B);

    /// <summary>One segment's fields; the defaults make a data segment of a connection 40000 -> 5201.</summary>
    public sealed record Spec(bool V6, uint Seq, int PayloadLength)
    {
        public TcpFlags Flags { get; init; } = TcpFlags.Ack;
        public ushort Id { get; init; }
        public byte[] Options { get; init; } = [];
        public byte[] IpOptions { get; init; } = [];
        public ushort Window { get; init; } = 1000;
        public uint Ack { get; init; } = 1;
        public byte Ttl { get; init; } = 64;
        public ushort SourcePort { get; init; } = 40000;
        public ushort FragmentField { get; init; } = 0x4000; // DF
        public byte Fill { get; init; }
        public int Trailing { get; init; }
    }

    /// <summary>TCP timestamps (RFC 7323 section 3): NOP, NOP, kind 8 length 10.</summary>
    public static byte[] Timestamps(uint value, uint echo)
    {
        var o = new byte[12];
        o[0] = o[1] = 1;
        o[2] = 8;
        o[3] = 10;
        BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(4), value);
        BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(8), echo);
        return o;
    }

    public static byte[] Build(Spec s)
    {
        int ipHeader = s.V6 ? 40 : 20 + s.IpOptions.Length;
        int tcpHeader = 20 + s.Options.Length;
        int l3 = EthernetFrame.HeaderLength, l4 = l3 + ipHeader, l4Length = tcpHeader + s.PayloadLength;
        var f = new byte[l4 + l4Length + s.Trailing];
        MacB.Write(f);
        MacA.Write(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), s.V6 ? EtherType.IPv6 : EtherType.IPv4);
        var ip = f.AsSpan(l3);
        ulong pseudo;
        if (s.V6)
        {
            ip[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)l4Length);
            ip[6] = IpProtocol.Tcp;
            ip[7] = s.Ttl;
            System.Net.IPAddress.Parse("fd00::a").GetAddressBytes().CopyTo(ip[8..]);
            System.Net.IPAddress.Parse("fd00::b").GetAddressBytes().CopyTo(ip[24..]);
            pseudo = Checksum.PseudoHeaderV6(ip.Slice(8, 16), ip.Slice(24, 16), IpProtocol.Tcp, l4Length);
        }
        else
        {
            ip[0] = (byte)(0x40 | (ipHeader / 4));
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(ipHeader + l4Length));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], s.Id);
            BinaryPrimitives.WriteUInt16BigEndian(ip[6..], s.FragmentField);
            ip[8] = s.Ttl;
            ip[9] = IpProtocol.Tcp;
            new Ipv4Address(0x0A_00_00_0A).Write(ip[12..]);
            new Ipv4Address(0x0A_00_00_0B).Write(ip[16..]);
            s.IpOptions.CopyTo(ip[20..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..ipHeader]));
            pseudo = Checksum.PseudoHeaderV4(new Ipv4Address(0x0A_00_00_0A), new Ipv4Address(0x0A_00_00_0B), IpProtocol.Tcp, l4Length);
        }
        var tcp = f.AsSpan(l4, l4Length);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, s.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], s.Seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], s.Ack);
        tcp[12] = (byte)(tcpHeader / 4 << 4);
        tcp[13] = (byte)s.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], s.Window);
        s.Options.CopyTo(tcp[20..]);
        for (int i = 0; i < s.PayloadLength; i++) tcp[tcpHeader + i] = (byte)(s.Fill + i * 7 + (int)s.Seq);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Finish(Checksum.Add(pseudo, tcp)));
        return f;
    }

    /// <summary>What one <see cref="TcpCoalescer"/> delivered for a stream: each frame with its header.</summary>
    public static List<(byte[] Frame, VirtioNetHeader Offload)> Coalesce(IEnumerable<byte[]> frames)
    {
        var coalescer = new TcpCoalescer();
        var delivered = new List<(byte[], VirtioNetHeader)>();
        FrameHandler deliver = (frame, in offload) => delivered.Add((frame.ToArray(), offload));
        foreach (var f in frames) coalescer.Add(f, deliver);
        coalescer.Flush(deliver);
        return delivered;
    }

    /// <summary>The oracle: the delivered frames as a port without offloads gets them
    /// (<see cref="SoftwareOffload"/> cuts each superframe).</summary>
    public static List<byte[]> Resegment(List<(byte[] Frame, VirtioNetHeader Offload)> delivered)
    {
        var plain = new List<byte[]>();
        foreach (var (frame, offload) in delivered)
        {
            if (offload.IsPlain) { plain.Add(frame); continue; }
            Assert.True(SoftwareOffload.Deliver(frame, offload, plain, static (list, f) => { list.Add(f.ToArray()); return true; }));
        }
        return plain;
    }
}
