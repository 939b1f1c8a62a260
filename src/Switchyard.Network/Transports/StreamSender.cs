using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using Switchyard.Network.Switching;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>The sending half of a <see cref="StreamConnection"/>: frames toward the VM, each after
/// its 4-byte big-endian length, never interleaved, and no sender ever waits for the VM.
///
/// One writer at a time owns the socket's send side. A frame that finds nobody writing and
/// nothing queued is written at once by the thread that sends it, prefix and frame in one
/// gathered sendmsg(2) straight from the caller's span (no copy, no hop to another thread). Frames
/// that arrive while someone is writing, or that the socket has no room for, are copied into a
/// <see cref="Pipe"/> (pooled segments; up to <see cref="MaxBacklog"/> bytes, past which a VM that
/// stops reading costs only its own frames), and a send loop drains it with gathered writes of up
/// to <see cref="GatherSend.MaxBuffers"/> segments per call, waiting for room in .NET's socket
/// engine when the socket is full. An offloaded frame (a TCP segmentation job) is cut by
/// <see cref="SoftwareOffload"/> into the sending thread's buffer, prefixes and all, and goes as
/// one write.</summary>
internal sealed class StreamSender
{
    /// <summary>Bytes queued toward the VM before new frames are dropped.</summary>
    public const int MaxBacklog = 4 << 20;

    /// <summary>A 64 KiB job at MTU 1500 is 44 frames; this holds it with their prefixes.</summary>
    private const int JobBytes = 128 * 1024;

    [ThreadStatic] private static JobGatherer? t_job;

    private readonly Socket _socket;
    private readonly Action _onFailed;
    private readonly Pipe _queue = new(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 16 * 1024, useSynchronizationContext: false));
    private readonly Lock _lock = new();
    private readonly SendSignal _signal = new();
    private readonly MemoryHandle[] _pins = new MemoryHandle[GatherSend.MaxBuffers];
    private readonly int[] _lengths = new int[GatherSend.MaxBuffers];
    /// <summary>What a direct write left unsent: ahead of everything queued, the send loop's next write.</summary>
    private byte[] _carry = [];
    private int _carryLength;
    /// <summary>Bytes accepted and not yet written (carry and queue).</summary>
    private long _backlog;
    /// <summary>Someone (a direct writer or the send loop) owns the send side. Under <see cref="_lock"/>.</summary>
    private bool _writing;
    private volatile bool _closed;

    /// <param name="socket">The connected stream socket (nonblocking).</param>
    /// <param name="onFailed">Called when a write fails: the connection is broken.</param>
    public StreamSender(Socket socket, Action onFailed)
    {
        _socket = socket;
        _onFailed = onFailed;
    }

    /// <summary>Bytes accepted and not yet written to the socket.</summary>
    public long Backlog => Volatile.Read(ref _backlog);

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (_closed) return false;
        if (offload.IsPlain)
        {
            Span<byte> prefix = stackalloc byte[StreamFraming.PrefixLength];
            BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)frame.Length);
            return Enqueue(prefix, frame);
        }
        var job = t_job ??= new JobGatherer();
        job.Target = this;
        job.Used = 0;
        job.AllSent = true;
        try
        {
            bool made = SoftwareOffload.Deliver(frame, offload, job, static (j, f) => j.Add(f));
            job.Flush();
            return made && job.AllSent;
        }
        finally { job.Target = null; }
    }

    /// <summary>Writes <paramref name="head"/> and <paramref name="body"/> now if nobody else is
    /// writing, else queues them; false (nothing sent) when closed or the backlog is full.</summary>
    private bool Enqueue(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        int total = head.Length + body.Length;
        lock (_lock)
        {
            if (_closed || Volatile.Read(ref _backlog) + total > MaxBacklog) return false;
            if (_writing)
            {
                // The writer looks at the backlog under this lock before it lets go, so it sees these bytes.
                var writer = _queue.Writer;
                var span = writer.GetSpan(total);
                head.CopyTo(span);
                body.CopyTo(span[head.Length..]);
                writer.Advance(total);
                _ = writer.FlushAsync(); // completes at once: a pipe that never pauses
                Interlocked.Add(ref _backlog, total);
                return true;
            }
            _writing = true;
        }
        IoResult r;
        try { r = GatherSend.Send(_socket, head, body); }
        catch (ObjectDisposedException)
        {
            _onFailed();
            return false;
        }
        if (r.Failed)
        {
            _onFailed();
            return false;
        }
        if (r.Bytes == total)
        {
            LetGo();
            return true;
        }
        // The socket took part of it (or nothing): the rest is the send loop's, ahead of the queue.
        int sent = r.Bytes, rest = total - sent;
        if (_carry.Length < rest) _carry = new byte[Math.Max(rest, 64 * 1024)];
        if (sent < head.Length)
        {
            head[sent..].CopyTo(_carry);
            body.CopyTo(_carry.AsSpan(head.Length - sent));
        }
        else body[(sent - head.Length)..].CopyTo(_carry);
        _carryLength = rest;
        Interlocked.Add(ref _backlog, rest);
        _signal.Set();
        return true;
    }

    /// <summary>A direct writer is done: hands the send side to the loop if frames were queued meanwhile.</summary>
    private void LetGo()
    {
        lock (_lock)
        {
            if (Volatile.Read(ref _backlog) == 0) { _writing = false; return; }
        }
        _signal.Set();
    }

    /// <summary>Drains what direct writers could not write, until <see cref="Close"/>.</summary>
    public async Task RunAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                await _signal.WaitAsync().ConfigureAwait(false);
                if (_closed) return;
                // The send side is this loop's until it lets go below.
                if (_carryLength > 0)
                {
                    await _socket.SendAsync(_carry.AsMemory(0, _carryLength), SocketFlags.None).ConfigureAwait(false);
                    Interlocked.Add(ref _backlog, -_carryLength);
                    _carryLength = 0;
                }
                while (!_closed)
                {
                    if (reader.TryRead(out var result))
                    {
                        var buffer = result.Buffer;
                        long done = WriteGathered(buffer, out var stuck);
                        if (!stuck.IsEmpty)
                        {
                            // Full: .NET's engine waits for room and writes the rest of this segment.
                            await _socket.SendAsync(stuck, SocketFlags.None).ConfigureAwait(false);
                            done += stuck.Length;
                        }
                        reader.AdvanceTo(buffer.GetPosition(done));
                        Interlocked.Add(ref _backlog, -done);
                        continue;
                    }
                    lock (_lock)
                    {
                        if (Volatile.Read(ref _backlog) == 0) { _writing = false; break; }
                    }
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            _onFailed();
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Gathered nonblocking writes of <paramref name="buffer"/>'s segments, as much as the
    /// socket takes; returns the bytes written and, when it stopped short, in <paramref name="stuck"/>
    /// the unwritten rest of the segment where it stopped.</summary>
    private long WriteGathered(in ReadOnlySequence<byte> buffer, out ReadOnlyMemory<byte> stuck)
    {
        stuck = default;
        long done = 0;
        while (true)
        {
            int count = 0;
            long batch = 0;
            foreach (var segment in buffer.Slice(done))
            {
                if (segment.IsEmpty) continue;
                _pins[count] = segment.Pin();
                _lengths[count] = segment.Length;
                batch += segment.Length;
                if (++count == GatherSend.MaxBuffers) break;
            }
            if (count == 0) return done;
            IoResult r;
            try { r = GatherSend.Send(_socket, _pins.AsSpan(0, count), _lengths.AsSpan(0, count)); }
            finally
            {
                for (int i = 0; i < count; i++) _pins[i].Dispose();
            }
            if (r.Failed) throw new SocketException((int)r.Error);
            done += r.Bytes;
            if (r.Bytes < batch)
            {
                stuck = buffer.Slice(done).First;
                return done;
            }
        }
    }

    /// <summary>Stops taking frames and wakes the send loop to end.</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_closed) return;
            _closed = true;
            _queue.Writer.Complete();
        }
        _signal.Set();
    }

    /// <summary>An offloaded job's frames, each after its prefix, back to back in one buffer per
    /// sending thread; written with one <see cref="Enqueue"/> per buffer.</summary>
    private sealed class JobGatherer
    {
        public readonly byte[] Buffer = new byte[JobBytes];
        public StreamSender? Target;
        public int Used;
        public bool AllSent;

        public bool Add(ReadOnlySpan<byte> frame)
        {
            int need = StreamFraming.PrefixLength + frame.Length;
            if (Used + need > Buffer.Length) Flush();
            if (need > Buffer.Length)
            {
                Span<byte> prefix = stackalloc byte[StreamFraming.PrefixLength];
                BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)frame.Length);
                AllSent &= Target!.Enqueue(prefix, frame);
                return true;
            }
            BinaryPrimitives.WriteUInt32BigEndian(Buffer.AsSpan(Used), (uint)frame.Length);
            frame.CopyTo(Buffer.AsSpan(Used + StreamFraming.PrefixLength));
            Used += need;
            return true;
        }

        public void Flush()
        {
            if (Used == 0) return;
            AllSent &= Target!.Enqueue(default, Buffer.AsSpan(0, Used));
            Used = 0;
        }
    }
}
