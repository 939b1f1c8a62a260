using System.Buffers;

namespace Switchyard.Network.Nat;

/// <summary>A byte queue over one pooled array, taken only while it holds data: a NAT flow with
/// nothing in flight costs no buffer, so thousands of idle flows stay cheap. Not thread-safe: its
/// flow's lock guards it.</summary>
internal sealed class ByteRing
{
    private readonly int _capacity;
    private byte[]? _buffer;
    private int _start;

    public ByteRing(int capacity) => _capacity = capacity;

    public int Capacity => _capacity;
    public int Count { get; private set; }
    public int Free => _capacity - Count;
    public bool HasBuffer => _buffer is not null;

    /// <summary>The longest contiguous free region, at most <paramref name="max"/> bytes; fill it and
    /// call <see cref="Commit"/>.</summary>
    public Span<byte> WritableSpan(int max)
    {
        var buffer = _buffer ??= ArrayPool<byte>.Shared.Rent(_capacity);
        int end = (_start + Count) % _capacity;
        int contiguous = end >= _start && Count < _capacity ? _capacity - end : _capacity - Count;
        if (Count == _capacity) contiguous = 0;
        return buffer.AsSpan(end, Math.Min(contiguous, max));
    }

    public void Commit(int count) => Count += count;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns how much that was.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int written = 0;
        while (written < data.Length)
        {
            var span = WritableSpan(data.Length - written);
            if (span.IsEmpty) break;
            data.Slice(written, span.Length).CopyTo(span);
            Commit(span.Length);
            written += span.Length;
        }
        return written;
    }

    /// <summary>The contiguous run of bytes at the head of the queue (for one send).</summary>
    public ArraySegment<byte> ReadableSegment()
    {
        if (_buffer is null || Count == 0) return ArraySegment<byte>.Empty;
        return new ArraySegment<byte>(_buffer, _start, Math.Min(Count, _capacity - _start));
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting <paramref name="offset"/>
    /// bytes after the head, wrapping around the array's end.</summary>
    public void CopyTo(int offset, Span<byte> destination)
    {
        int from = (_start + offset) % _capacity;
        int first = Math.Min(destination.Length, _capacity - from);
        _buffer.AsSpan(from, first).CopyTo(destination);
        if (first < destination.Length) _buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Drops <paramref name="count"/> bytes from the head; the array goes back to the pool
    /// when the queue empties.</summary>
    public void Consume(int count)
    {
        Count -= count;
        _start = Count == 0 ? 0 : (_start + count) % _capacity;
        if (Count == 0) Release();
    }

    public void Release()
    {
        if (_buffer is null) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
        _start = 0;
        Count = 0;
    }
}
