using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>One TCP segment from a flow's remote (or the gateway) to its guest, for
/// <see cref="NatEngine.SendTcp"/>: the header's fields, and the data as a run of the flow's
/// <see cref="ByteRing"/> (copied straight into the reply frame). A <c>ref struct</c> so the
/// options may be a stack span and nothing is allocated per segment.</summary>
internal readonly ref struct TcpReply
{
    /// <summary>A segment without data: a SYN, a SYN-ACK, a bare ACK or a RST.</summary>
    public TcpReply(in FlowKey flow, MacAddress guestMac, uint sequence, uint acknowledgment, TcpFlags flags, ushort window,
        ReadOnlySpan<byte> options = default, ushort ipId = 0)
    {
        Flow = flow;
        GuestMac = guestMac;
        Sequence = sequence;
        Acknowledgment = acknowledgment;
        Flags = flags;
        Window = window;
        Options = options;
        IpId = ipId;
    }

    /// <summary>The flow's ends: the segment goes from its remote to its guest.</summary>
    public FlowKey Flow { get; }
    public MacAddress GuestMac { get; }
    public uint Sequence { get; }
    public uint Acknowledgment { get; }
    public TcpFlags Flags { get; }
    public ushort Window { get; }
    public ReadOnlySpan<byte> Options { get; }
    /// <summary>The IPv4 identification (unused for IPv6).</summary>
    public ushort IpId { get; }

    /// <summary>Where the data is: <see cref="DataLength"/> bytes of <see cref="Data"/> from
    /// <see cref="DataOffset"/> (none when <see cref="DataLength"/> is 0).</summary>
    public ByteRing? Data { get; init; }
    public int DataOffset { get; init; }
    public int DataLength { get; init; }
    /// <summary>The guest's MSS: data longer than this goes out as a segmentation job cut at it.</summary>
    public int Mss { get; init; }
}
