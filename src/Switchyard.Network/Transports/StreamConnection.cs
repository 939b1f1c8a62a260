using System.Buffers;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>Frames over one connected unix stream socket, each after a 4-byte big-endian length:
/// QEMU's <c>-netdev stream</c> and <c>-netdev socket</c>, socket_vmnet and Lima. Receiving reads
/// as much as is there into one buffer and hands every whole frame to the switch from it, in
/// place; only a frame cut by the end of the buffer is moved, and only when the buffer has no
/// room left for a whole frame. Sending is <see cref="StreamSender"/>'s: a VM that stops reading
/// costs its own frames (dropped past <see cref="MaxBacklog"/> bytes) and never blocks another port.</summary>
internal sealed class StreamConnection : IDisposable
{
    /// <summary>Bytes queued toward the VM before new frames are dropped.</summary>
    public const int MaxBacklog = StreamSender.MaxBacklog;

    private readonly Socket _socket;
    private readonly int _maxFrame;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly Telemetry.LogRateLimit _logLimit;
    private readonly StreamSender _sender;
    private volatile bool _closed;

    public StreamConnection(Socket socket, int maxFrame, ILogger logger, string name, Telemetry.LogRateLimit logLimit)
    {
        _logLimit = logLimit;
        _socket = socket;
        _maxFrame = maxFrame;
        _logger = logger;
        _name = name;
        _sender = new StreamSender(socket, Close);
    }

    /// <summary>Runs until the peer closes, breaks the framing, or <see cref="Dispose"/>. Returns
    /// the protocol error, or null for an orderly end.</summary>
    public async Task<string?> RunAsync(FrameHandler onFrame)
    {
        var sending = _sender.RunAsync();
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
        int start = 0, filled = 0; // the bytes not yet handed on are buffer[start..filled]
        try
        {
            while (!_closed)
            {
                // Room for a whole frame after the pending bytes, or move them to the front (at
                // most one frame's worth: the buffer holds two).
                if (buffer.Length - filled < _maxFrame + StreamFraming.PrefixLength && start > 0)
                {
                    buffer.AsSpan(start, filled - start).CopyTo(buffer);
                    filled -= start;
                    start = 0;
                }
                int n;
                try { n = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false); }
                catch (SocketException e) { if (_logLimit.ShouldLog()) TransportLog.ConnectionLost(_logger, _name, e.SocketErrorCode.ToString()); return null; }
                catch (ObjectDisposedException) { return null; }
                if (n == 0)
                {
                    return filled == start ? null : $"connection closed in the middle of a frame ({filled - start} bytes pending)";
                }
                filled += n;
                start += Deliver(buffer.AsSpan(start, filled - start), onFrame, out string? error);
                if (error is not null) return error;
                if (start == filled) start = filled = 0;
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

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => !_closed && _sender.TrySend(frame, offload);

    private void Close()
    {
        if (_closed) return;
        _closed = true;
        _sender.Close();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        Close();
        _socket.Dispose();
    }
}
