using System.Buffers.Binary;

namespace Switchyard.Packets;

/// <summary>The offload metadata in front of a frame on a TAP device with IFF_VNET_HDR: struct
/// virtio_net_hdr (virtio 1.2 §5.1.6), 10 bytes. tun uses the host's byte order for it (legacy
/// virtio), little-endian on every target we ship.</summary>
/// <param name="Flags"><see cref="FlagNeedsChecksum"/>: the L4 checksum field holds only the
/// pseudo-header sum; the rest is to be summed from <see cref="ChecksumStart"/>.</param>
/// <param name="GsoType">A TCP segmentation job: the frame carries up to 64 KiB of payload to be
/// cut into <see cref="GsoSize"/>-byte segments.</param>
public readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    public const int Length = 10;
    public const byte FlagNeedsChecksum = 1;
    public const byte FlagDataValid = 2;
    public const byte GsoNone = 0, GsoTcpV4 = 1, GsoUdp = 3, GsoTcpV6 = 4, GsoEcn = 0x80;

    /// <summary>A plain frame: complete checksums, no segmentation.</summary>
    public static readonly VirtioNetHeader None = default;

    public bool NeedsChecksum => (Flags & FlagNeedsChecksum) != 0;
    public bool IsGso => (GsoType & ~GsoEcn) != GsoNone;
    public bool IsPlain => Flags == 0 && GsoType == GsoNone;

    public static VirtioNetHeader Read(ReadOnlySpan<byte> s) => new(s[0], s[1],
        BinaryPrimitives.ReadUInt16LittleEndian(s[2..]), BinaryPrimitives.ReadUInt16LittleEndian(s[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(s[6..]), BinaryPrimitives.ReadUInt16LittleEndian(s[8..]));

    public void Write(Span<byte> d)
    {
        d[0] = Flags;
        d[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(d[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(d[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(d[8..], ChecksumOffset);
    }
}
