using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>A VM on a unix datagram socket, one frame per datagram: QEMU's <c>-netdev dgram</c>,
/// vfkit's unixgram, Virtualization.framework's VZFileHandleNetworkDeviceAttachment. The daemon
/// binds a path; the peer is a path given up front (<c>--dgram-peer</c>) or learnt from the first
/// datagram's source. Sends go to the peer's path each time, so a peer that is not there yet, or
/// goes away and comes back, only costs the frames sent meanwhile (counted as transmit failures).
/// Errors on the data path are results (SocketError), never exceptions.</summary>
public sealed class DgramTransport : IFrameTransport, IReportingTransport
{
    /// <summary>vfkit and Apple's documentation ask for send buffers of about 1 MiB and receive
    /// buffers of about 4 MiB (at least twice the send size) on these sockets.</summary>
    private const int SendBuffer = 1 << 20, ReceiveBuffer = 4 << 20;

    /// <summary>While the peer's socket is not there, connecting is tried again only after this
    /// long, so a VM that is down costs a timestamp read per frame, not a syscall.</summary>
    internal static readonly TimeSpan RetryAfter = TimeSpan.FromMilliseconds(250);

    private readonly Socket _socket;
    private readonly string? _path;
    private readonly bool _pair;
    private readonly int _maxFrame;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _retryAfterTicks;
    private readonly CancellationTokenSource _stop = new();
    private volatile SocketAddress? _peer;
    private long _retryAt; // a _time timestamp
    private volatile bool _connected;
    private readonly Lock _connectLock = new();
    private Task? _loop;

    private DgramTransport(Socket socket, string? path, string? peer, bool pair, int maxFrame, ILogger logger, TimeProvider? time)
    {
        _socket = socket;
        _path = path;
        _pair = pair;
        _maxFrame = maxFrame;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _retryAfterTicks = (long)(RetryAfter.TotalSeconds * _time.TimestampFrequency);
        _socket.Blocking = false;
        try
        {
            _socket.SendBufferSize = SendBuffer;
            _socket.ReceiveBufferSize = ReceiveBuffer;
        }
        catch (SocketException) { /* the system's limits apply */ }
        if (peer is not null) _peer = new UnixDomainSocketEndPoint(Path.GetFullPath(peer)).Serialize();
        Status = new TransportStatus(pair ? "connected" : _peer is null ? "waiting-for-peer" : "connected");
    }

    /// <summary>Binds <paramref name="path"/> now, so a bad path fails the attach.</summary>
    /// <param name="time">The clock of the wait between connect attempts (default: the system's).</param>
    public static DgramTransport Listen(string path, string? peer, int maxFrame, ILogger logger, TimeProvider? time = null) =>
        new(UnixSocketPaths.Listen(path, SocketType.Dgram), Path.GetFullPath(path), peer, pair: false, maxFrame, logger, time);

    /// <summary>The daemon's end of a connected socket pair whose other end the VM process holds.</summary>
    public static DgramTransport FromSocket(Socket connected, int maxFrame, ILogger logger) => new(connected, null, null, pair: true, maxFrame, logger, null);

    public string Kind => _pair ? "fd" : "dgram";
    public bool SupportsOffload => false;
    public TransportStatus Status { get; }
    public event Action? Closed;

    public void Start(FrameHandler onFrame) => _loop = ReceiveLoop(onFrame);

    private async Task ReceiveLoop(FrameHandler onFrame)
    {
        var buffer = new byte[Math.Max(_maxFrame, 65536)];
        var from = new SocketAddress(AddressFamily.Unix, 128);
        while (!_stop.IsCancellationRequested)
        {
            int n;
            from.Size = from.Buffer.Length; // the previous receive shrank it to that sender's address
            try
            {
                n = _pair
                    ? await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false)
                    : await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                // ECONNREFUSED here is the kernel reporting an earlier send to a peer that is gone.
                TransportLog.ConnectionLost(_logger, _path ?? "socket pair", e.SocketErrorCode.ToString());
                if (_pair) { PeerGone(); return; }
                continue;
            }
            if (n == 0) continue;
            if (n > _maxFrame)
            {
                Status.ProtocolError($"datagram of {n} bytes is larger than {_maxFrame}");
                continue;
            }
            if (!_pair && _peer is null && from.Size > 2)
            {
                // Learn the peer from the first datagram that came from a bound path (QEMU's local.path).
                var learnt = new SocketAddress(AddressFamily.Unix, from.Size);
                from.Buffer[..from.Size].CopyTo(learnt.Buffer);
                _peer = learnt;
                Status.Connected();
                TransportLog.Connected(_logger, _path!);
            }
            try { onFrame(buffer.AsSpan(0, n), VirtioNetHeader.None); }
            catch (Exception e) when (e is not OutOfMemoryException) { TransportLog.FrameFailed(_logger, _path ?? "socket pair", e); }
        }
    }

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (_stop.IsCancellationRequested) return false;
        SocketError error;
        if (_pair)
        {
            try { _socket.Send(frame, SocketFlags.None, out error); }
            catch (ObjectDisposedException) { return false; }
        }
        else
        {
            // The socket is connect()ed to the peer, so sends report errors as results (no
            // exception per dropped frame); while the peer is away, connecting is retried only
            // now and then.
            if (!_connected && !TryConnectPeer()) return false;
            try { _socket.Send(frame, SocketFlags.None, out error); }
            catch (ObjectDisposedException) { return false; }
        }
        switch (error)
        {
            case SocketError.Success:
                if (Status.State != "connected" && !_pair) Status.Connected();
                return true;
            case SocketError.WouldBlock:
            case SocketError.NoBufferSpaceAvailable:
                return false; // the VM is not reading fast enough: drop, as a full NIC ring would
            default:
                // ENOENT / ECONNREFUSED: the peer's socket is not there (yet, or any more).
                if (_pair) { PeerGone(); return false; }
                _connected = false;
                if (Status.State == "connected") Status.Disconnected("waiting-for-peer");
                Volatile.Write(ref _retryAt, _time.GetTimestamp() + _retryAfterTicks);
                return false;
        }
    }

    /// <summary>connect()s the bound socket to the peer's path: sends then come from our path (a
    /// VM whose own socket is connected to us accepts nothing else) and fail as results.</summary>
    private bool TryConnectPeer()
    {
        if (_peer is not { } peer || _time.GetTimestamp() < Volatile.Read(ref _retryAt)) return false;
        lock (_connectLock)
        {
            if (_connected) return true;
            int errno;
            try { errno = Switchyard.Platform.DatagramPeer.TryConnect(_socket, peer); }
            catch (ObjectDisposedException) { return false; }
            if (errno != 0)
            {
                Volatile.Write(ref _retryAt, _time.GetTimestamp() + _retryAfterTicks);
                return false;
            }
            _connected = true;
            return true;
        }
    }

    private void PeerGone()
    {
        if (Status.State == "closed") return;
        Status.Disconnected("closed");
        TransportLog.Disconnected(_logger, "socket pair");
        Closed?.Invoke();
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _socket.Dispose();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        if (_path is not null) UnixSocketPaths.Remove(_path);
        Status.State = "closed";
    }
}
