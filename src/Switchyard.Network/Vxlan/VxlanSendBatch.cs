using Switchyard.Packets;

namespace Switchyard.Network.Vxlan;

/// <summary>The datagrams of one TCP segmentation job, encapsulated (RFC 7348 section 5) back to
/// back in one buffer for one UDP GSO send (<see cref="Platform.UdpSegmentation"/>): every
/// datagram has the size of the first except the last, which may be shorter and ends the batch
/// (the kernel cuts at <see cref="SegmentSize"/>, so a shorter one anywhere else would shift every
/// following boundary). Per sending thread; also carries the job's destination for the sink.</summary>
internal sealed class VxlanSendBatch
{
    public readonly byte[] Buffer = new byte[Platform.UdpSegmentation.MaxBytes];

    /// <summary>Bytes and datagrams in the batch, and the size of each but the last.</summary>
    public int Length, Count, SegmentSize;
    private bool _closed;

    /// <summary>The job's tunnel and learnt VTEP (null: replicate to every peer); whether a peer took any of it.</summary>
    public VxlanTunnel? Tunnel;
    public VxlanPeer? Vtep;
    public bool Sent;

    public ReadOnlySpan<byte> Datagrams => Buffer.AsSpan(0, Length);

    public void Clear()
    {
        Length = Count = SegmentSize = 0;
        _closed = false;
    }

    /// <summary>Appends <paramref name="frame"/> with a VXLAN header for <paramref name="vni"/>;
    /// false when it does not belong in this batch (longer than the first, after a shorter one,
    /// no room, or <see cref="Platform.UdpSegmentation.MaxSegments"/> reached): send the batch,
    /// clear it and append again.</summary>
    public bool TryAppend(ReadOnlySpan<byte> frame, uint vni)
    {
        int size = VxlanHeader.Length + frame.Length;
        if (Length + size > Buffer.Length) return false;
        if (Count > 0 && (_closed || size > SegmentSize || Count == Platform.UdpSegmentation.MaxSegments)) return false;
        var at = Buffer.AsSpan(Length);
        VxlanHeader.Write(at, vni);
        frame.CopyTo(at[VxlanHeader.Length..]);
        if (Count == 0) SegmentSize = size;
        else if (size < SegmentSize) _closed = true;
        Length += size;
        Count++;
        return true;
    }
}
