using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>Frames over one connected unix stream socket, each after a 4-byte big-endian length:
/// QEMU's <c>-netdev stream</c> and <c>-netdev socket</c>, socket_vmnet and Lima. Receiving parses
/// frames in place in one buffer. Sending appends to a <see cref="Pipe"/> under a lock (a frame is
/// never interleaved with another) and a send loop drains it, so a VM that stops reading costs
/// its own frames (dropped past <see cref="MaxBacklog"/> bytes) and never blocks another port.</summary>
internal sealed class StreamConnection : IDisposable
{
    /// <summary>Bytes queued toward the VM before new frames are dropped.</summary>
    public const int MaxBacklog = 4 << 20;

    private readonly Socket _socket;
    private readonly int _maxFrame;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly Telemetry.LogRateLimit _logLimit;
    private readonly Pipe _send = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Lock _sendLock = new();
    private long _backlog;
    private volatile bool _closed;

    public StreamConnection(Socket socket, int maxFrame, ILogger logger, string name, Telemetry.LogRateLimit logLimit)
    {
        _logLimit = logLimit;
        _socket = socket;
        _maxFrame = maxFrame;
        _logger = logger;
        _name = name;
    }

    /// <summary>Runs until the peer closes, breaks the framing, or <see cref="Dispose"/>. Returns
    /// the protocol error, or null for an orderly end.</summary>
    public async Task<string?> RunAsync(FrameHandler onFrame)
    {
        var sending = SendLoop();
        try { return await ReceiveLoop(onFrame).ConfigureAwait(false); }
        finally
        {
            Close();
            await sending.ConfigureAwait(false);
        }
    }

    private async Task<string?> ReceiveLoop(FrameHandler onFrame)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256 * 1024, 2 * (_maxFrame + 4)));
        int filled = 0;
        try
        {
            while (!_closed)
            {
                int n;
                try { n = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false); }
                catch (SocketException e) { if (_logLimit.ShouldLog()) TransportLog.ConnectionLost(_logger, _name, e.SocketErrorCode.ToString()); return null; }
                catch (ObjectDisposedException) { return null; }
                if (n == 0)
                {
                    return filled == 0 ? null : $"connection closed in the middle of a frame ({filled} bytes pending)";
                }
                filled += n;
                int consumed = Deliver(buffer.AsSpan(0, filled), onFrame, out string? error);
                if (error is not null) return error;
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Hands every whole frame in <paramref name="data"/> to the switch; returns the bytes consumed.</summary>
    private int Deliver(ReadOnlySpan<byte> data, FrameHandler onFrame, out string? error)
    {
        error = null;
        int pos = 0;
        while (true)
        {
            var status = StreamFraming.TryRead(data[pos..], _maxFrame, out uint length);
            if (status == StreamFrameStatus.NeedMore) return pos;
            if (status == StreamFrameStatus.BadLength)
            {
                error = $"frame length {length} is outside 1..{_maxFrame}";
                return pos;
            }
            // A bug in handling one frame must not end the connection's receive loop.
            try { onFrame(data.Slice(pos + StreamFraming.PrefixLength, (int)length), VirtioNetHeader.None); }
            catch (Exception e) when (e is not OutOfMemoryException) { if (_logLimit.ShouldLog()) TransportLog.FrameFailed(_logger, _name, e); }
            pos += StreamFraming.PrefixLength + (int)length;
        }
    }

    public bool TrySend(ReadOnlySpan<byte> frame)
    {
        if (_closed) return false;
        lock (_sendLock)
        {
            if (_closed || Volatile.Read(ref _backlog) + frame.Length > MaxBacklog) return false;
            var writer = _send.Writer;
            var span = writer.GetSpan(4 + frame.Length);
            BinaryPrimitives.WriteUInt32BigEndian(span, (uint)frame.Length);
            frame.CopyTo(span[4..]);
            writer.Advance(4 + frame.Length);
            Interlocked.Add(ref _backlog, 4 + frame.Length);
            // Completes synchronously: pauseWriterThreshold 0 means the pipe never pushes back.
            _ = writer.FlushAsync();
        }
        return true;
    }

    private async Task SendLoop()
    {
        var reader = _send.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var rest = segment;
                    while (rest.Length > 0)
                    {
                        int n = await _socket.SendAsync(rest, SocketFlags.None).ConfigureAwait(false);
                        rest = rest[n..];
                    }
                }
                Interlocked.Add(ref _backlog, -buffer.Length);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) return;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Close();
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void Close()
    {
        if (_closed) return;
        lock (_sendLock)
        {
            if (_closed) return;
            _closed = true;
            _send.Writer.Complete();
        }
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        Close();
        _socket.Dispose();
    }
}
