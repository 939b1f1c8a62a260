using System.Buffers.Binary;

namespace Switchyard.Packets.Tests.Infrastructure;

/// <summary>Reads classic libpcap files (not pcapng): a 24-byte global header whose magic gives the
/// byte order and timestamp resolution, then 16-byte record headers each followed by the captured bytes.</summary>
internal static class PcapReader
{
    public const uint LinkTypeEthernet = 1;

    public sealed record Packet(DateTimeOffset Timestamp, byte[] Data);

    public static (uint LinkType, List<Packet> Packets) Read(string path) => Read(File.ReadAllBytes(path));

    public static (uint LinkType, List<Packet> Packets) Read(ReadOnlySpan<byte> file)
    {
        if (file.Length < 24) throw new InvalidDataException("pcap file shorter than its global header");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        bool little;
        bool nanos;
        switch (magic)
        {
            case 0xA1B2C3D4: little = true; nanos = false; break;
            case 0xA1B23C4D: little = true; nanos = true; break;
            case 0xD4C3B2A1: little = false; nanos = false; break;
            case 0x4D3CB2A1: little = false; nanos = true; break;
            default: throw new InvalidDataException($"not a classic pcap file (magic 0x{magic:X8})");
        }
        uint U32(ReadOnlySpan<byte> s) => little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);
        uint linkType = U32(file[20..]) & 0x0FFF_FFFF; // upper bits carry FCS info in newer files
        var packets = new List<Packet>();
        int pos = 24;
        while (pos + 16 <= file.Length)
        {
            uint seconds = U32(file[pos..]);
            uint fraction = U32(file[(pos + 4)..]);
            int captured = checked((int)U32(file[(pos + 8)..]));
            pos += 16;
            if (pos + captured > file.Length) throw new InvalidDataException("truncated pcap record");
            long ticks = nanos ? fraction / 100 : fraction * 10L;
            var ts = DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(ticks);
            packets.Add(new Packet(ts, file.Slice(pos, captured).ToArray()));
            pos += captured;
        }
        return (linkType, packets);
    }

    /// <summary>The UDP payload of an Ethernet/IPv4/UDP frame, or null for anything else. Parsed by hand
    /// (14-byte Ethernet header, IHL-sized IPv4 header, 8-byte UDP header) so the codec under test is
    /// not involved.</summary>
    public static (ushort SourcePort, ushort DestinationPort, byte[] Payload)? UdpPayload(byte[] frame)
    {
        if (frame.Length < 14 + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) != 0x0800) return null;
        int ip = 14;
        if (frame[ip] >> 4 != 4 || frame[ip + 9] != 17) return null;
        int ihl = (frame[ip] & 0xF) * 4;
        int udp = ip + ihl;
        if (udp + 8 > frame.Length) return null;
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(udp + 4));
        if (udpLength < 8 || udp + udpLength > frame.Length) return null;
        return (BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(udp)), BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(udp + 2)),
            frame.AsSpan(udp + 8, udpLength - 8).ToArray());
    }
}
