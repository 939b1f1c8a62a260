using System.Buffers.Binary;

namespace Switchyard.Packets.Tests.Core;

/// <summary>Random and mutated frames through every reader: parsing may fail but must never throw
/// or read outside the buffer (an exception here is an IndexOutOfRange from a span slice).</summary>
public class FuzzTests
{
    private static List<byte[]> Seeds()
    {
        var seeds = new List<byte[]>
        {
            CoreFrames.OurUdpFrame(CoreFrames.Payload(0)),
            CoreFrames.OurUdpFrame(CoreFrames.Payload(37)),
        };
        foreach (int optLen in new[] { 0, 8, 12, 40 })
        {
            var opts = new byte[optLen];
            if (optLen >= 8) TcpOptions.WriteSynOptions(opts, 1460, 7);
            if (optLen >= 12) { opts[8] = 4; opts[9] = 2; opts[10] = 1; opts[11] = 1; }
            if (optLen == 40) { opts[12] = 8; opts[13] = 10; opts[22] = 5; opts[23] = 10; }
            int hl = TcpSegment.HeaderLengthFor(optLen);
            var frame = new byte[34 + hl + 9];
            TcpSegment.Write(frame.AsSpan(34), CoreFrames.IpA, CoreFrames.IpB, 1, 2, 3, 4, TcpFlags.Syn, 5, opts, 9);
            EthernetFrameWriter.FinishIpv4(frame, CoreFrames.MacA, CoreFrames.MacB, CoreFrames.IpA, CoreFrames.IpB, IpProtocol.Tcp, hl + 9);
            seeds.Add(frame);
        }
        var icmp = new byte[34 + 8 + 20];
        IcmpPacket.Finish(icmp.AsSpan(34), IcmpPacket.TypeEchoRequest, 0, 28);
        EthernetFrameWriter.FinishIpv4(icmp, CoreFrames.MacA, CoreFrames.MacB, CoreFrames.IpA, CoreFrames.IpB, IpProtocol.Icmp, 28);
        seeds.Add(icmp);
        var arp = new byte[42];
        EthernetFrame.WriteHeader(arp, MacAddress.Broadcast, CoreFrames.MacA, EtherType.Arp);
        ArpPacket.Write(arp.AsSpan(14), ArpPacket.OpRequest, CoreFrames.MacA, CoreFrames.IpA, MacAddress.Zero, CoreFrames.IpB);
        seeds.Add(arp);
        // A VLAN-tagged copy of each.
        foreach (var s in seeds.ToList())
        {
            var tagged = new byte[s.Length + 4];
            s.AsSpan(0, 12).CopyTo(tagged);
            BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(12), EtherType.Vlan);
            BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(14), 7);
            s.AsSpan(12).CopyTo(tagged.AsSpan(16));
            seeds.Add(tagged);
        }
        seeds.AddRange(CorePcap.ReadFrames(CorePcap.DataPath("core-ping-tcp.pcap"), out _));
        return seeds;
    }

    /// <summary>Touches every field and view each reader offers; returns a value so nothing is elided.</summary>
    private static long Exercise(ReadOnlySpan<byte> frame)
    {
        long acc = 0;
        if (EthernetFrame.TryReadAddresses(frame, out var d, out var s)) acc += (long)(d.Value ^ s.Value);
        if (!EthernetFrame.TryParse(frame, out var f)) return acc;
        acc += f.EtherType + f.VlanTci + f.Payload.Length + f.Destination.ToString().Length;
        var payload = f.Payload;
        if (ArpPacket.TryParse(payload, out var arp))
            acc += arp.Operation + arp.SenderIp.Value + (arp.IsProbeOrAnnouncement ? 1 : 0) + (long)arp.TargetMac.Value;
        // Try every L3/L4 reader on the payload regardless of EtherType/protocol, to reach more states.
        if (Ipv4Packet.TryParse(payload, out var ip))
        {
            acc += ip.Header.Length + ip.Options.Length + ip.Payload.Length + ip.TotalLength + ip.FragmentOffset
                + (ip.IsHeaderChecksumValid ? 1 : 0) + (ip.IsFragment ? 1 : 0) + (ip.MoreFragments ? 1 : 0) + (ip.DontFragment ? 1 : 0);
            acc += L4(ip.Payload, ip.Source, ip.Destination);
        }
        acc += L4(payload, Ipv4Address.Any, Ipv4Address.Broadcast);
        return acc;
    }

    private static long L4(ReadOnlySpan<byte> p, Ipv4Address src, Ipv4Address dst)
    {
        long acc = 0;
        if (UdpDatagram.TryParse(p, out var u))
            acc += u.SourcePort + u.DestinationPort + u.ChecksumField + u.Payload.Length + (u.IsChecksumValid(src, dst) ? 1 : 0);
        if (TcpSegment.TryParse(p, out var t))
        {
            acc += t.SourcePort + t.DestinationPort + t.SequenceNumber + t.AcknowledgmentNumber + (int)t.Flags + t.Window
                + t.Options.Length + t.Payload.Length + (t.IsChecksumValid(src, dst) ? 1 : 0) + (t.Has(TcpFlags.Syn) ? 1 : 0);
            var o = t.ReadOptions();
            acc += (o.Mss ?? 0) + (o.WindowScale ?? 0) + (o.SackPermitted ? 1 : 0) + o.TimestampValue + o.TimestampEcho;
            Assert.True(o.WindowScale is null or <= 14);
        }
        if (IcmpPacket.TryParse(p, out var m))
            acc += m.Type + m.Code + m.Identifier + m.Sequence + m.Payload.Length + (m.IsChecksumValid ? 1 : 0);
        return acc;
    }

    [Fact]
    public void RandomAndMutatedFrames_NeverThrow()
    {
        var rng = new Random(20_000);
        var seeds = Seeds();
        long acc = 0;
        for (int n = 0; n < 20_000; n++)
        {
            byte[] frame;
            switch (n % 4)
            {
                case 0:   // pure noise, biased to short lengths around header boundaries
                    frame = new byte[rng.Next(0, rng.Next(2) == 0 ? 80 : 1600)];
                    rng.NextBytes(frame);
                    if (frame.Length >= 14 && rng.Next(2) == 0)
                        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), rng.Next(3) switch { 0 => EtherType.IPv4, 1 => EtherType.Arp, _ => EtherType.Vlan });
                    if (frame.Length >= 15 && rng.Next(2) == 0) frame[14] = (byte)(0x40 | rng.Next(16));
                    break;
                case 1:   // a valid frame with a few bytes flipped
                    frame = (byte[])seeds[rng.Next(seeds.Count)].Clone();
                    for (int k = rng.Next(1, 6); k > 0 && frame.Length > 0; k--) frame[rng.Next(frame.Length)] ^= (byte)rng.Next(1, 256);
                    break;
                case 2:   // a valid frame truncated
                    var seed = seeds[rng.Next(seeds.Count)];
                    frame = seed[..rng.Next(0, seed.Length + 1)];
                    break;
                default:  // header fields set to extremes
                    frame = (byte[])seeds[rng.Next(seeds.Count)].Clone();
                    int at = rng.Next(Math.Max(1, Math.Min(frame.Length, 80)));
                    if (at < frame.Length) frame[at] = (byte)(rng.Next(4) switch { 0 => 0, 1 => 0xFF, 2 => 0x0F, _ => 0xF0 });
                    if (rng.Next(3) == 0) frame = frame[..rng.Next(0, frame.Length + 1)];
                    break;
            }
            acc += Exercise(frame);
        }
        Assert.NotEqual(0, acc);
    }

    [Fact]
    public void SeedFrames_AllValid()
    {
        foreach (var frame in Seeds())
        {
            Assert.True(EthernetFrame.TryParse(frame, out var f));
            if (f.EtherType == EtherType.Arp) { Assert.True(ArpPacket.TryParse(f.Payload, out _)); continue; }
            Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
            Assert.True(p.IsHeaderChecksumValid);
            switch (p.Protocol)
            {
                case IpProtocol.Udp: Assert.True(UdpDatagram.TryParse(p.Payload, out var u) && u.IsChecksumValid(p.Source, p.Destination)); break;
                case IpProtocol.Tcp: Assert.True(TcpSegment.TryParse(p.Payload, out var t) && t.IsChecksumValid(p.Source, p.Destination)); break;
                case IpProtocol.Icmp: Assert.True(IcmpPacket.TryParse(p.Payload, out var m) && m.IsChecksumValid); break;
                default: Assert.Fail($"unexpected protocol {p.Protocol}"); break;
            }
        }
    }
}
