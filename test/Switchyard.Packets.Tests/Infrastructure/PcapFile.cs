using System.Buffers.Binary;

namespace Switchyard.Packets.Tests.Infrastructure;

/// <summary>A minimal classic-pcap (libpcap 2.4) reader: global header, then records. Both byte orders
/// and the micro/nanosecond magics are accepted; pcapng is not.</summary>
public sealed class PcapFile
{
    public const uint LinkTypeEthernet = 1;

    public readonly record struct Record(long TimestampSeconds, uint TimestampFraction, int OriginalLength, byte[] Data);

    public uint LinkType { get; }
    public uint SnapLength { get; }
    public IReadOnlyList<Record> Records { get; }

    private PcapFile(uint linkType, uint snapLength, List<Record> records)
    {
        LinkType = linkType;
        SnapLength = snapLength;
        Records = records;
    }

    public static PcapFile Read(string path) => Parse(File.ReadAllBytes(path));

    public static PcapFile Parse(ReadOnlySpan<byte> file)
    {
        if (file.Length < 24) throw new InvalidDataException("pcap: truncated global header");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        bool little = magic is 0xA1B2C3D4 or 0xA1B23C4D;
        if (!little && magic is not (0xD4C3B2A1 or 0x4D3CB2A1)) throw new InvalidDataException($"pcap: bad magic 0x{magic:x8} (pcapng is not supported)");
        uint U32(ReadOnlySpan<byte> s) => little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);
        uint snap = U32(file[16..]);
        uint linkType = U32(file[20..]) & 0x0FFF_FFFF; // upper bits: FCS length flags
        var records = new List<Record>();
        int pos = 24;
        while (pos < file.Length)
        {
            if (file.Length - pos < 16) throw new InvalidDataException("pcap: truncated record header");
            uint seconds = U32(file[pos..]), fraction = U32(file[(pos + 4)..]);
            uint included = U32(file[(pos + 8)..]), original = U32(file[(pos + 12)..]);
            pos += 16;
            if (included > file.Length - pos) throw new InvalidDataException("pcap: truncated record data");
            records.Add(new Record(seconds, fraction, (int)original, file.Slice(pos, (int)included).ToArray()));
            pos += (int)included;
        }
        return new PcapFile(linkType, snap, records);
    }
}
