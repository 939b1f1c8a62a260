using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>A VM on a UDP socket, one Ethernet frame per datagram with no header: QEMU's
/// <c>-netdev dgram</c> with <c>inet</c> addresses, QEMU's <c>-netdev socket,udp=</c> and
/// libvirt's <c>&lt;interface type='udp'&gt;</c> (which is that netdev). The daemon binds
/// <see cref="Local"/>; frames go to the peer, given up front or learnt from the first datagram.
///
/// Unlike a unix socket, a UDP port can be reached by anyone who can reach the address, so the
/// peer is fixed once known: datagrams from any other source are dropped and counted
/// (<see cref="TransportStatus.ForeignDatagrams"/>), never taken as frames. The socket is not
/// connect()ed, so the kernel does not filter for us and every stranger's datagram is counted;
/// sends are sendto to the peer, errors as results. A QEMU that restarts binds the same
/// <c>localaddr</c> again, so a fixed peer loses nothing across VM restarts.</summary>
public sealed class UdpTransport : IFrameTransport, IReportingTransport, IDatagramBatchTarget
{
    /// <summary>As for unix datagram sockets: a burst of frames should not overflow the defaults
    /// (about 200 KiB), so ask for 1 MiB to send and 4 MiB to receive (the system may cap them).</summary>
    private const int SendBuffer = 1 << 20, ReceiveBuffer = 4 << 20;

    private readonly Socket _socket;
    private readonly string _where;
    private readonly int _maxFrame;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Telemetry.LogRateLimit _logLimit;
    private volatile SocketAddress? _peer;
    private FrameHandler? _onFrame;
    private Task? _loop;

    private UdpTransport(Socket socket, IPEndPoint? peer, int maxFrame, ILogger logger, TimeProvider? time)
    {
        _socket = socket;
        Local = (IPEndPoint)socket.LocalEndPoint!;
        _where = "udp " + Local;
        _maxFrame = maxFrame;
        _logger = logger;
        _peer = peer?.Serialize();
        _logLimit = TransportLog.Limit(logger, _where, time ?? TimeProvider.System);
        // A given peer is "connected" once it has been heard from: until then frames go out but
        // nothing says a VM is there.
        Status = new TransportStatus("waiting-for-peer") { Peer = peer?.ToString() };
    }

    /// <summary>Binds <paramref name="local"/> now, so a port in use fails the attach.</summary>
    /// <param name="peer">The VM's address and port; null: learnt from the first datagram.</param>
    /// <param name="time">The clock of the log rate limit (default: the system's).</param>
    public static UdpTransport Listen(IPEndPoint local, IPEndPoint? peer, int maxFrame, ILogger logger, TimeProvider? time = null)
    {
        if (peer is not null && peer.AddressFamily != local.AddressFamily)
            throw new ArgumentException("the peer's address family must be the listening address's", nameof(peer));
        var socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // One family per socket: an IPv6 listener does not take IPv4-mapped senders, so a
            // sender's address compares byte for byte with the peer's.
            if (local.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
            socket.Bind(local);
            socket.Blocking = false;
            try
            {
                socket.SendBufferSize = SendBuffer;
                socket.ReceiveBufferSize = ReceiveBuffer;
            }
            catch (SocketException) { /* the system's limits apply */ }
            return new UdpTransport(socket, peer, maxFrame, logger, time);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The bound address (with the port the system chose when 0 was asked for).</summary>
    public IPEndPoint Local { get; }
    public string Kind => "udp";
    /// <summary>Offloaded frames are cut here and leave in batches (<see cref="DatagramJobSender"/>).</summary>
    public bool SupportsOffload => true;
    public TransportStatus Status { get; }

    public void Start(FrameHandler onFrame)
    {
        _onFrame = onFrame;
        _loop = new DatagramReceiveLoop(_socket, _maxFrame, connected: false, _stop.Token).Run(OnDatagram, OnReceiveError);
    }

    private bool OnReceiveError(SocketError error)
    {
        // ICMP port unreachable for an earlier send (ECONNREFUSED on some systems): the VM is away.
        if (_logLimit.ShouldLog()) TransportLog.ConnectionLost(_logger, _where, error.ToString());
        return true;
    }

    /// <summary>One datagram from the receive loop: the sender checked first, then the size.</summary>
    private void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from, int length)
    {
        if (!AcceptFrom(from)) return;
        if (length == 0) return;
        if (length > _maxFrame)
        {
            Status.ProtocolError($"datagram of {length} bytes is larger than {_maxFrame}");
            return;
        }
        try { _onFrame!(datagram, VirtioNetHeader.None); }
        catch (Exception e) when (e is not OutOfMemoryException) { if (_logLimit.ShouldLog()) TransportLog.FrameFailed(_logger, _where, e); }
    }

    /// <summary>True when the datagram from <paramref name="from"/> is the VM's: the first sender
    /// becomes the peer if none was given; any other is dropped and counted. Receive loop only.</summary>
    private bool AcceptFrom(SocketAddress from)
    {
        var peer = _peer;
        if (peer is null)
        {
            var learnt = new SocketAddress(from.Family, from.Size);
            from.Buffer[..from.Size].CopyTo(learnt.Buffer);
            _peer = learnt;
            Status.Peer = Describe(learnt);
            Status.Connected();
            TransportLog.UdpPeerLearnt(_logger, _where, Status.Peer);
            return true;
        }
        if (SameEndpoint(from, peer))
        {
            if (Status.State != "connected") Status.Connected();
            return true;
        }
        Status.Foreign();
        if (_logLimit.ShouldLog()) TransportLog.UdpPeerIgnored(_logger, _where, Describe(from), Status.Peer ?? "?");
        return false;
    }

    /// <summary>Same family, port and address (sockaddr_in: port at 2, address at 4; sockaddr_in6:
    /// port at 2, address at 8, scope id at 24). Flow labels and BSD's length byte are not compared.</summary>
    internal static bool SameEndpoint(SocketAddress a, SocketAddress b)
    {
        if (a.Family != b.Family) return false;
        var x = a.Buffer.Span;
        var y = b.Buffer.Span;
        if (a.Family == AddressFamily.InterNetwork)
            return a.Size >= 8 && b.Size >= 8 && x.Slice(2, 6).SequenceEqual(y.Slice(2, 6));
        return a.Size >= 28 && b.Size >= 28 && x.Slice(2, 2).SequenceEqual(y.Slice(2, 2)) && x.Slice(8, 20).SequenceEqual(y.Slice(8, 20));
    }

    private static string Describe(SocketAddress address)
    {
        try { return IPEndPointOf(address).ToString(); }
        catch (ArgumentException) { return "?"; }
    }

    private static IPEndPoint IPEndPointOf(SocketAddress address) =>
        (IPEndPoint)(address.Family == AddressFamily.InterNetwork ? Any4 : Any6).Create(address);

    private static readonly IPEndPoint Any4 = new(IPAddress.Any, 0), Any6 = new(IPAddress.IPv6Any, 0);

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => DatagramJobSender.Send(frame, offload, this);

    bool IDatagramBatchTarget.SendOne(ReadOnlySpan<byte> frame)
    {
        if (_stop.IsCancellationRequested || _peer is not { } peer) return false;
        Switchyard.Platform.IoResult result;
        try { result = Switchyard.Platform.NonBlockingSocket.SendTo(_socket, frame, peer); }
        catch (ObjectDisposedException) { return false; }
        // Full (EAGAIN, ENOBUFS): the VM is not reading fast enough; drop, as a full NIC ring
        // would. Unreachable or refused: the VM is away; its frames are lost meanwhile, as on a
        // cable that is unplugged. Both are counted by the caller as transmit drops.
        return !result.Failed && !result.WouldBlock;
    }

    /// <summary>sendmmsg of the batch to the peer; what cannot go (the same cases as one frame)
    /// is dropped with the rest of the batch.</summary>
    bool IDatagramBatchTarget.SendBatch(Switchyard.Platform.DatagramBatch batch)
    {
        if (_stop.IsCancellationRequested || _peer is not { } peer) return false;
        for (int start = 0; start < batch.Count;)
        {
            Switchyard.Platform.IoResult result;
            try { result = batch.Send(_socket, start, peer); }
            catch (ObjectDisposedException) { return false; }
            if (result.Errno != 0 || result.Bytes == 0) return false;
            start += result.Bytes;
        }
        return true;
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _socket.Dispose();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _logLimit.Dispose();
        Status.State = "closed";
    }
}
