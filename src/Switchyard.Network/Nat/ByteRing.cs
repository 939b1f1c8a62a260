using System.Buffers;

namespace Switchyard.Network.Nat;

/// <summary>A byte queue over one pooled array, taken only while it holds data: a NAT flow with
/// nothing in flight costs no buffer, so thousands of idle flows stay cheap. With a growth size it
/// starts small and doubles up to its capacity as the flow needs it, so a request/response flow
/// never holds (nor leaves in the pool) a bulk flow's megabyte. Not thread-safe: its flow's lock
/// guards it. A ring that grows may give its old array back while nobody else reads it: only
/// rings whose bytes are never lent to an async send grow.</summary>
internal sealed class ByteRing
{
    private readonly int _capacity;
    private readonly int _initial;
    private byte[]? _buffer;
    private int _start;

    public ByteRing(int capacity, int initialSize = 0)
    {
        _capacity = capacity;
        _initial = initialSize > 0 ? Math.Min(initialSize, capacity) : capacity;
    }

    /// <summary>The ring's modulus: the array's usable length (never more than the capacity).</summary>
    private int Size => Math.Min(_buffer!.Length, _capacity);

    public int Count { get; private set; }
    public int Free => _capacity - Count;
    public bool HasBuffer => _buffer is not null;

    /// <summary>The longest contiguous free region, at most <paramref name="max"/> bytes; fill it and
    /// call <see cref="Commit"/>.</summary>
    public Span<byte> WritableSpan(int max)
    {
        _buffer ??= ArrayPool<byte>.Shared.Rent(_initial);
        max = Math.Min(max, Free);
        if (Size - Count < max && Size < _capacity) Grow(Count + max);
        int size = Size;
        if (Count == size) return Span<byte>.Empty;
        int end = (_start + Count) % size;
        int contiguous = end >= _start ? size - end : size - Count;
        return _buffer.AsSpan(end, Math.Min(contiguous, max));
    }

    /// <summary>Moves the bytes to a bigger array (at least double, at most the capacity), in order from index 0.</summary>
    private void Grow(int needed)
    {
        int size = Math.Min(_capacity, Math.Max(needed, Size * 2));
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        if (Count > 0) CopyTo(0, bigger.AsSpan(0, Count));
        ArrayPool<byte>.Shared.Return(_buffer!);
        _buffer = bigger;
        _start = 0;
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
        return new ArraySegment<byte>(_buffer, _start, Math.Min(Count, Size - _start));
    }

    /// <summary>The contiguous run of bytes that starts <paramref name="offset"/> bytes after the head: up to the
    /// tail, or to the array's end when they wrap (then <see cref="CopyTo"/> gets the rest).</summary>
    public ReadOnlySpan<byte> RunAt(int offset)
    {
        if (_buffer is null || offset >= Count) return default;
        int size = Size;
        int from = (_start + offset) % size;
        return _buffer.AsSpan(from, Math.Min(Count - offset, size - from));
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting <paramref name="offset"/>
    /// bytes after the head, wrapping around the array's end.</summary>
    public void CopyTo(int offset, Span<byte> destination)
    {
        int size = Size;
        int from = (_start + offset) % size;
        int first = Math.Min(destination.Length, size - from);
        _buffer.AsSpan(from, first).CopyTo(destination);
        if (first < destination.Length) _buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Drops <paramref name="count"/> bytes from the head; the array goes back to the pool
    /// when the queue empties.</summary>
    public void Consume(int count)
    {
        Count -= count;
        _start = Count == 0 ? 0 : (_start + count) % Size;
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
