using System.Runtime.InteropServices;

namespace Switchyard.BenchRelay;

/// <summary>
/// Up to <see cref="Capacity"/> frames as (offset, length) views into one pinned buffer, like passt's packet pools:
/// filled by one side of the relay per wake-up and emptied by the other, with no per-frame copy or allocation.
/// Slot i starts at i * <see cref="SlotSize"/>; its first <see cref="Headroom"/> bytes are left free so a stream link
/// can write the 4-byte length prefix right in front of the frame and send both in one iovec.
/// A link may also point the views anywhere else in <see cref="Buffer"/> (a stream read holds many frames back to back).
/// </summary>
internal sealed unsafe class FrameBatch
{
    /// <summary>Room in front of each slot's frame for QEMU's 4-byte length prefix.</summary>
    public const int Headroom = 4;

    public FrameBatch(int capacity, int maxFrame)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrame, 60);
        Capacity = capacity;
        MaxFrame = maxFrame;
        // 8-byte aligned slots keep every frame's start aligned the same way.
        SlotSize = (Headroom + maxFrame + 7) & ~7;
        Buffer = GC.AllocateArray<byte>(capacity * SlotSize, pinned: true);
        Base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(Buffer, 0);
        Offsets = new int[capacity];
        Lengths = new int[capacity];
    }

    public int Capacity { get; }

    /// <summary>The longest frame a slot takes: the MTU plus the 14-byte Ethernet header.</summary>
    public int MaxFrame { get; }

    public int SlotSize { get; }

    /// <summary>Pinned for the batch's lifetime, so native calls may keep pointers into it.</summary>
    public byte[] Buffer { get; }

    public byte* Base { get; }

    public int[] Offsets { get; }

    public int[] Lengths { get; }

    public int Count { get; set; }

    /// <summary>Where slot <paramref name="i"/>'s frame starts (after its headroom).</summary>
    public int SlotOffset(int i) => (i * SlotSize) + Headroom;

    /// <summary>Slot <paramref name="i"/>'s whole frame area, to read a frame into.</summary>
    public Span<byte> Slot(int i) => Buffer.AsSpan(SlotOffset(i), MaxFrame);

    public ReadOnlySpan<byte> Frame(int i) => Buffer.AsSpan(Offsets[i], Lengths[i]);
}
