using System.Buffers;
using System.Buffers.Binary;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>
/// Puts a guest's fragmented UDP and ICMP datagrams back together (RFC 791 §3.2, RFC 815), so a
/// datagram bigger than the network's MTU (a guest's 3000-byte `ping -s`, a large DNS or game
/// datagram; TCP never fragments, guests send it with DF) can go out on a host socket whole.
///
/// At most <see cref="MaxInProgress"/> datagrams per network are being reassembled at a time, each
/// in a pooled 64 KiB buffer (no allocation per fragment); one that is not complete within
/// <see cref="Timeout"/> is dropped, as are overlapping fragments (as Linux does since 4.19; they
/// serve only to evade filters) and datagrams that would exceed 65535 bytes.
/// </summary>
internal sealed class Ipv4Reassembly
{
    internal const int MaxInProgress = 64;
    private static readonly long Timeout = TimeSpan.FromSeconds(10).Ticks;
    /// <summary>Payload starts here in a buffer: room before it for the largest header.</summary>
    private const int PayloadStart = 60;
    private const int MaxPayload = 65535 - Ipv4Packet.MinHeaderLength;
    private const int Blocks = (MaxPayload + 7) / 8;

    private sealed class Entry
    {
        public bool InUse;
        public Ipv4Address Source, Destination;
        public ushort Id;
        public byte Protocol;
        public long Started;
        public byte[]? Buffer;
        public int HeaderLength;        // 0 until the first fragment (offset 0) arrived
        public int TotalLength = -1;    // payload bytes, once the last fragment (no MF) arrived
        public int Received;
        public int End;                 // where the furthest fragment received so far ends
        public readonly ulong[] Seen = new ulong[(Blocks + 63) / 64];   // 8-byte blocks received
    }

    private readonly object _lock = new();
    private readonly Entry[] _entries = new Entry[MaxInProgress];
    private int _inUse;

    public Ipv4Reassembly()
    {
        for (int i = 0; i < _entries.Length; i++) _entries[i] = new Entry();
    }

    public int InProgress => Volatile.Read(ref _inUse);

    public enum Result { Pending, Complete, Dropped }

    /// <summary>Takes one fragment. On <see cref="Result.Complete"/>, <paramref name="buffer"/>
    /// holds the whole datagram at [<paramref name="start"/>, +<paramref name="length"/>) with a
    /// fresh header (no fragment fields); hand the buffer back with <see cref="Return"/>.</summary>
    public Result Add(in Ipv4Packet fragment, long now, out byte[]? buffer, out int start, out int length)
    {
        buffer = null;
        start = length = 0;
        int offset = fragment.FragmentOffset;
        var data = fragment.Payload;
        bool last = !fragment.MoreFragments;
        // Every fragment but the last carries a multiple of 8 bytes (RFC 791 §3.2).
        if ((!last && (data.Length == 0 || (data.Length & 7) != 0)) || offset + data.Length > MaxPayload) return Result.Dropped;
        lock (_lock)
        {
            var e = Find(fragment, now);
            if (e is null) return Result.Dropped;
            if (last)
            {
                if (e.TotalLength >= 0 && e.TotalLength != offset + data.Length) { Free(e); return Result.Dropped; }
                e.TotalLength = offset + data.Length;
            }
            // Past the end, or overlapping: the whole datagram goes. "Past the end" holds for the
            // fragments that came before the last one too: counted in Received, they would let a
            // datagram with a hole pass for complete, and the hole would go out holding whatever
            // the pooled buffer held before (found by fuzz/run.sh's reassembly target's invariant).
            e.End = Math.Max(e.End, offset + data.Length);
            if ((e.TotalLength >= 0 && e.End > e.TotalLength) || !Mark(e.Seen, offset, data.Length))
            {
                Free(e);
                return Result.Dropped;
            }
            data.CopyTo(e.Buffer.AsSpan(PayloadStart + offset));
            e.Received += data.Length;
            if (offset == 0)
            {
                e.HeaderLength = fragment.HeaderLength;
                fragment.Header.CopyTo(e.Buffer.AsSpan(PayloadStart - e.HeaderLength));
            }
            if (e.TotalLength < 0 || e.Received != e.TotalLength || e.HeaderLength == 0) return Result.Pending;
            // RFC 791 §3.1: Total Length, header included, is 16 bits. A first fragment with options
            // leaves less room than MaxPayload assumed.
            if (e.HeaderLength + e.TotalLength > ushort.MaxValue) { Free(e); return Result.Dropped; }

            start = PayloadStart - e.HeaderLength;
            length = e.HeaderLength + e.TotalLength;
            var header = e.Buffer.AsSpan(start, e.HeaderLength);
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)length);
            BinaryPrimitives.WriteUInt16BigEndian(header[6..], 0);   // no MF, offset 0
            header[10] = header[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(header[10..], Checksum.Compute(header));
            buffer = e.Buffer;
            e.Buffer = null;   // the caller returns it
            Free(e);
            return Result.Complete;
        }
    }

    public static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    /// <summary>Drops datagrams whose fragments stopped coming.</summary>
    public void Expire(long now)
    {
        if (Volatile.Read(ref _inUse) == 0) return;
        lock (_lock)
            foreach (var e in _entries)
                if (e.InUse && now - e.Started > Timeout) Free(e);
    }

    public void Clear()
    {
        lock (_lock)
            foreach (var e in _entries)
                if (e.InUse) Free(e);
    }

    private Entry? Find(in Ipv4Packet f, long now)
    {
        Entry? free = null;
        foreach (var e in _entries)
        {
            if (!e.InUse) { free ??= e; continue; }
            if (e.Id == f.Identification && e.Protocol == f.Protocol && e.Source == f.Source && e.Destination == f.Destination) return e;
        }
        if (free is null) return null;   // full: new datagrams wait until one completes or expires
        free.InUse = true;
        free.Source = f.Source;
        free.Destination = f.Destination;
        free.Id = f.Identification;
        free.Protocol = f.Protocol;
        free.Started = now;
        free.Buffer = ArrayPool<byte>.Shared.Rent(PayloadStart + MaxPayload);
        free.HeaderLength = 0;
        free.TotalLength = -1;
        free.Received = 0;
        free.End = 0;
        Array.Clear(free.Seen);
        _inUse++;
        return free;
    }

    private void Free(Entry e)
    {
        if (e.Buffer is { } b) ArrayPool<byte>.Shared.Return(b);
        e.Buffer = null;
        e.InUse = false;
        _inUse--;
    }

    /// <summary>Marks the 8-byte blocks [offset, offset + length) as received; false when one was already.</summary>
    private static bool Mark(ulong[] seen, int offset, int length)
    {
        int first = offset >> 3, end = (offset + length + 7) >> 3;
        for (int b = first; b < end; b++)
            if ((seen[b >> 6] & (1UL << (b & 63))) != 0) return false;
        for (int b = first; b < end; b++) seen[b >> 6] |= 1UL << (b & 63);
        return true;
    }
}
