using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>A VM on a unix datagram socket, one frame per datagram: QEMU's <c>-netdev dgram</c>,
/// vfkit's unixgram, Virtualization.framework's VZFileHandleNetworkDeviceAttachment. The daemon
/// binds a path; the peer is a path given up front (<c>--dgram-peer</c>) or learnt from the
/// datagrams' source. Errors on the data path are results (SocketError), never exceptions.
///
/// A given peer is fixed: the socket is connect()ed to it (the kernel then refuses datagrams from
/// anyone else), a peer that is not there yet or goes away and comes back at the same path only
/// costs the frames sent meanwhile (transmit failures), and connecting is retried every
/// <see cref="RetryAfter"/>.
///
/// A learnt peer FOLLOWS the VM process (issue 16): vfkit binds a new socket path each time it
/// starts (<c>vfkit-PID-RAND.sock</c> next to ours), connects it to our path and says "VFKT"
/// first; a peer learnt once and kept would never hear from a restarted vfkit again. So the socket
/// stays unconnected (sends are sendto to the peer's path) and the rule is: datagrams from the
/// current peer are frames; a datagram from another named sender is dropped while the current
/// peer is still bound (a second process cannot take over a running VM's port), and becomes the
/// new peer once the current one is gone: our last send to it failed, or a connect probe finds
/// no socket bound at its path. Probes run at most once per <see cref="RetryAfter"/>, so a
/// stranger's flood costs a timestamp read per datagram, not a syscall.</summary>
public sealed class DgramTransport : IFrameTransport, IReportingTransport, IDatagramBatchTarget
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
    private readonly bool _fixedPeer;
    private readonly Telemetry.LogRateLimit _logLimit;
    private volatile SocketAddress? _peer;
    private long _retryAt; // a _time timestamp
    private long _probeAt; // a _time timestamp: when a stranger may next make us probe the peer
    private volatile bool _connected;
    /// <summary>A learnt peer our last send could not reach (its socket is gone).</summary>
    private volatile bool _peerGone;
    private readonly Lock _connectLock = new();
    private FrameHandler? _onFrame;
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
        _fixedPeer = peer is not null;
        _logLimit = TransportLog.Limit(logger, path ?? "socket pair", _time);
        Status = new TransportStatus(pair ? "connected" : _peer is null ? "waiting-for-peer" : "connected") { Peer = peer is null ? null : Path.GetFullPath(peer) };
    }

    /// <summary>Binds <paramref name="path"/> now, so a bad path fails the attach.</summary>
    /// <param name="time">The clock of the wait between connect attempts (default: the system's).</param>
    public static DgramTransport Listen(string path, string? peer, int maxFrame, ILogger logger, TimeProvider? time = null) =>
        new(UnixSocketPaths.Listen(path, SocketType.Dgram), Path.GetFullPath(path), peer, pair: false, maxFrame, logger, time);

    /// <summary>The daemon's end of a connected socket pair whose other end the VM process holds.</summary>
    public static DgramTransport FromSocket(Socket connected, int maxFrame, ILogger logger, TimeProvider? time = null) => new(connected, null, null, pair: true, maxFrame, logger, time);

    public string Kind => _pair ? "fd" : "dgram";
    /// <summary>Offloaded frames are cut here and leave in batches (<see cref="DatagramJobSender"/>).</summary>
    public bool SupportsOffload => true;
    public TransportStatus Status { get; }
    public event Action? Closed;

    public void Start(FrameHandler onFrame)
    {
        _onFrame = onFrame;
        _loop = new DatagramReceiveLoop(_socket, _maxFrame, connected: _pair, _stop.Token).Run(OnDatagram, OnReceiveError);
    }

    private bool OnReceiveError(SocketError error)
    {
        // ECONNREFUSED here is the kernel reporting an earlier send to a peer that is gone.
        if (_logLimit.ShouldLog()) TransportLog.ConnectionLost(_logger, _path ?? "socket pair", error.ToString());
        if (!_pair) return true;
        PeerGone();
        return false;
    }

    /// <summary>One datagram from the receive loop (see the type's summary for who may send).</summary>
    private void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from, int length)
    {
        if (length == 0) return;
        if (length > _maxFrame)
        {
            Status.ProtocolError($"datagram of {length} bytes is larger than {_maxFrame}");
            return;
        }
        if (!_pair && !_fixedPeer && !AcceptFrom(from)) return;
        if (datagram.Length == VfkitMagic.Length && !_pair && datagram.SequenceEqual(VfkitMagic))
        {
            // vfkit's hello (crc-org/vfkit pkg/vf/virtionet.go, connectUnixPath): the first
            // datagram of a vfkit started with virtio-net,unixSocketPath= is "VFKT", sent from
            // its own socket so the far end learns where to send. vfkit expects no answer
            // (gvisor-tap-vsock's AcceptVfkit only reads it); it is no frame, so it stops here.
            // A learnt peer has just been learnt or followed from it by AcceptFrom above.
            if (_logLimit.ShouldLog()) TransportLog.VfkitHandshake(_logger, _path!, from.Size > 2 ? Describe(from) : "an unbound socket");
            return;
        }
        try { _onFrame!(datagram, VirtioNetHeader.None); }
        catch (Exception e) when (e is not OutOfMemoryException) { if (_logLimit.ShouldLog()) TransportLog.FrameFailed(_logger, _path ?? "socket pair", e); }
    }

    /// <summary>The learnt-peer rule (see the type's summary): true when the datagram from
    /// <paramref name="from"/> is a frame of this endpoint's VM. Runs on the receive loop only.</summary>
    private bool AcceptFrom(SocketAddress from)
    {
        var peer = _peer;
        bool named = from.Size > 2; // an unbound sender has only the family: no path to answer
        if (peer is null)
        {
            // Learn the peer from the first datagram that came from a bound path (QEMU's local.path, vfkit's socket).
            if (named) Follow(from, previous: null);
            return true;
        }
        if (named && from.Buffer.Span[..from.Size].SequenceEqual(peer.Buffer.Span[..peer.Size]))
        {
            _peerGone = false; // it speaks: it is there again (QEMU restarted on the same path)
            return true;
        }
        if (named)
        {
            long now = _time.GetTimestamp();
            if (_peerGone || (now >= Volatile.Read(ref _probeAt) && !Switchyard.Platform.UnixSocketProbe.IsBound(peer)))
            {
                Follow(from, peer);
                return true;
            }
            Volatile.Write(ref _probeAt, now + _retryAfterTicks);
        }
        Status.Foreign();
        if (_logLimit.ShouldLog())
            TransportLog.PeerIgnored(_logger, _path!, named ? Describe(from) : "an unbound socket", Describe(peer));
        return false;
    }

    private void Follow(SocketAddress from, SocketAddress? previous)
    {
        var learnt = new SocketAddress(AddressFamily.Unix, from.Size);
        from.Buffer[..from.Size].CopyTo(learnt.Buffer);
        _peer = learnt;
        _peerGone = false;
        Status.Peer = Describe(learnt);
        Volatile.Write(ref _retryAt, 0);
        Status.Connected();
        if (!_logLimit.ShouldLog()) return;
        if (previous is null) TransportLog.Connected(_logger, _path!);
        else TransportLog.PeerFollowed(_logger, _path!, Describe(learnt), Describe(previous));
    }

    private static string Describe(SocketAddress address) =>
        address.Size > 2 ? AnyPath.Create(address).ToString() ?? "?" : "an unbound socket";

    private static readonly UnixDomainSocketEndPoint AnyPath = new("/");

    /// <summary>The 4 bytes vfkit sends first; an Ethernet frame is at least 14, so it is never one.</summary>
    private static ReadOnlySpan<byte> VfkitMagic => "VFKT"u8;

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => DatagramJobSender.Send(frame, offload, this);

    bool IDatagramBatchTarget.SendOne(ReadOnlySpan<byte> frame)
    {
        if (!TryDestination(out var to)) return false;
        Switchyard.Platform.IoResult result;
        try
        {
            // A connected socket (a pair, a given peer) sends to its peer; a learnt peer is
            // sendto'd, the socket staying unconnected (see the type's summary).
            result = to is null ? Switchyard.Platform.NonBlockingSocket.Send(_socket, frame) : Switchyard.Platform.NonBlockingSocket.SendTo(_socket, frame, to);
        }
        catch (ObjectDisposedException) { return false; }
        return result.Errno == 0 ? Sent() : SendFailed(result);
    }

    /// <summary>sendmmsg of the batch; the first datagram that cannot go ends it, handled as one
    /// frame's failure (the rest of the batch is dropped with it).</summary>
    bool IDatagramBatchTarget.SendBatch(Switchyard.Platform.DatagramBatch batch)
    {
        if (!TryDestination(out var to)) return false;
        for (int start = 0; start < batch.Count;)
        {
            Switchyard.Platform.IoResult result;
            try { result = batch.Send(_socket, start, to); }
            catch (ObjectDisposedException) { return false; }
            if (result.Errno != 0) return SendFailed(result);
            if (result.Bytes == 0) return false;
            start += result.Bytes;
        }
        return Sent();
    }

    /// <summary>Where frames go now: null for a connected socket (a pair, or a given peer once
    /// connected), else the learnt peer's address; false while there is nowhere to send (no peer
    /// yet, or one that is away until the next retry).</summary>
    private bool TryDestination(out SocketAddress? to)
    {
        to = null;
        if (_stop.IsCancellationRequested) return false;
        if (_pair) return true;
        if (_fixedPeer)
        {
            // The socket is connect()ed to the peer, so sends report errors as results; while the
            // peer is away, connecting is retried only now and then.
            return _connected || TryConnectPeer();
        }
        if (_peer is not { } peer) return false;
        if (_peerGone && _time.GetTimestamp() < Volatile.Read(ref _retryAt)) return false;
        to = peer;
        return true;
    }

    private bool Sent()
    {
        if (!_pair)
        {
            _peerGone = false;
            if (Status.State != "connected") Status.Connected();
        }
        return true;
    }

    /// <summary>A send that failed: full (EAGAIN, ENOBUFS) or too big is a drop, as a full NIC
    /// ring's; anything else (ENOENT, ECONNREFUSED, EPERM: its socket now talks to someone else)
    /// means the peer's socket is not there (yet, or any more).</summary>
    private bool SendFailed(Switchyard.Platform.IoResult result)
    {
        if (result.WouldBlock || result.Error is SocketError.NoBufferSpaceAvailable or SocketError.MessageSize) return false;
        if (_pair) { PeerGone(); return false; }
        if (_fixedPeer) _connected = false;
        else _peerGone = true;
        if (Status.State == "connected") Status.Disconnected("waiting-for-peer");
        Volatile.Write(ref _retryAt, _time.GetTimestamp() + _retryAfterTicks);
        return false;
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
        if (_logLimit.ShouldLog()) TransportLog.Disconnected(_logger, "socket pair");
        Closed?.Invoke();
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _socket.Dispose();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        if (_path is not null) UnixSocketPaths.Remove(_path);
        _logLimit.Dispose();
        Status.State = "closed";
    }
}
