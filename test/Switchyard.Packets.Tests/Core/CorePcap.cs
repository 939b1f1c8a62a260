using System.Buffers.Binary;

namespace Switchyard.Packets.Tests.Core;

/// <summary>A minimal classic libpcap reader (not pcapng): either byte order, micro- or
/// nanosecond magic. Returns each record's captured bytes.</summary>
public static class CorePcap
{
    public const uint LinkTypeEthernet = 1;

    public static string DataPath(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    public static List<byte[]> ReadFrames(string path, out uint linkType)
    {
        var data = File.ReadAllBytes(path);
        if (data.Length < 24) throw new InvalidDataException("pcap shorter than its global header");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(data);
        bool le = magic is 0xA1B2C3D4 or 0xA1B23C4D;
        if (!le && BinaryPrimitives.ReadUInt32BigEndian(data) is not (0xA1B2C3D4 or 0xA1B23C4D))
            throw new InvalidDataException($"not a classic pcap file (magic 0x{magic:x8})");
        uint U32(int at) => le ? BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
        linkType = U32(20) & 0x0FFF_FFFF;
        var frames = new List<byte[]>();
        int pos = 24;
        while (pos + 16 <= data.Length)
        {
            int incl = checked((int)U32(pos + 8));
            pos += 16;
            if (incl < 0 || pos + incl > data.Length) throw new InvalidDataException("truncated pcap record");
            frames.Add(data.AsSpan(pos, incl).ToArray());
            pos += incl;
        }
        if (pos != data.Length) throw new InvalidDataException("trailing bytes after the last pcap record");
        return frames;
    }
}
