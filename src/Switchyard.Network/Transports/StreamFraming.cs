using System.Buffers.Binary;

namespace Switchyard.Network.Transports;

/// <summary>What <see cref="StreamFraming.TryRead"/> found at the start of the buffered bytes.</summary>
internal enum StreamFrameStatus
{
    /// <summary>A whole frame is there.</summary>
    Frame,
    /// <summary>The length prefix or the frame is not complete yet.</summary>
    NeedMore,
    /// <summary>The length is 0 or over the limit: the framing is broken and cannot resynchronise.</summary>
    BadLength,
}

/// <summary>The stream transports' framing: each frame after its length as a 4-byte big-endian
/// integer (QEMU's <c>-netdev stream</c>/<c>socket</c>, socket_vmnet, Lima). Kept apart from the
/// socket so the parsing of guest bytes can be tested and fuzzed on its own.</summary>
internal static class StreamFraming
{
    public const int PrefixLength = 4;

    /// <summary>Reads the frame at the start of <paramref name="data"/>. On <see cref="StreamFrameStatus.Frame"/>
    /// the frame is <c>data.Slice(PrefixLength, length)</c>; on <see cref="StreamFrameStatus.BadLength"/>,
    /// <paramref name="length"/> is the bad value (for the error message).</summary>
    public static StreamFrameStatus TryRead(ReadOnlySpan<byte> data, int maxFrame, out uint length)
    {
        length = 0;
        if (data.Length < PrefixLength) return StreamFrameStatus.NeedMore;
        length = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (length == 0 || length > (uint)maxFrame) return StreamFrameStatus.BadLength;
        return (uint)(data.Length - PrefixLength) < length ? StreamFrameStatus.NeedMore : StreamFrameStatus.Frame;
    }
}
