using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Vxlan;

/// <summary>A network's VXLAN port (RFC 7348) over one ordinary UDP socket: no privilege, plain
/// sockets (macOS builds it too). Frames the switch sends are encapsulated (section 5) and go to
/// the VTEP their destination MAC was learnt behind, or, for broadcast, multicast and unknown
/// unicast, to every peer in turn (head-end replication: RFC 7348 section 4.2 floods over an IP
/// multicast group, which a user-mode daemon on an arbitrary underlay cannot count on; the Linux
/// kernel does the same with its all-zeros FDB entries). Datagrams from the underlay are taken
/// only from configured peers (by IP address, any source port), with our VNI and a well-formed
/// header; every other one is dropped and counted by reason (<see cref="Counters"/>).
///
/// A frame too big for the tunnel (over the network's MTU: a TCP segmentation job cut to an MSS
/// the network's MTU does not allow, since the switch already drops plain frames over it) is
/// dropped, counted, and answered as the Linux kernel's vxlan device answers on a bridged link:
/// an ICMP fragmentation-needed (RFC 1191) or Packet Too Big (RFC 8201) from the destination,
/// handed up like a frame from a peer (<see cref="TooBigReply"/>), at most one per
/// <see cref="TooBigReplyInterval"/> (one is all path MTU discovery needs; a 64 KiB job would
/// otherwise earn one per segment).
///
/// Threading: the receive loop is the only writer of the learning table; senders (any switch
/// thread) read it and the peer list without locks, and allocate nothing per frame (a per-thread
/// buffer holds the encapsulated datagram). The frame handler given to <see cref="Start"/> runs on
/// the receive loop, and also on a sender's thread for a too-big reply.</summary>
public sealed class VxlanTunnel : IVxlanTunnel
{
    /// <summary>As for the UDP transport: a burst should not overflow the kernel's defaults.</summary>
    private const int SendBuffer = 1 << 20, ReceiveBuffer = 4 << 20;

    /// <summary>The least time between two too-big replies.</summary>
    public static readonly TimeSpan TooBigReplyInterval = TimeSpan.FromMilliseconds(100);

    [ThreadStatic] private static byte[]? t_datagram;
    [ThreadStatic] private static VxlanSendBatch? t_batch;

    private readonly Socket _socket;
    private readonly uint _vni;
    private readonly int _mtu, _maxFrame;
    private readonly bool _gso, _gro;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly VtepTable _table;
    private readonly VxlanCounterSet _counters = new();
    private readonly Telemetry.LogRateLimit _logLimit;
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _sweep;
    private readonly Lock _peersLock = new();
    private volatile VxlanPeer[] _peers;
    private volatile HashSet<MacAddress> _guests = [];
    private readonly long _replyIntervalTicks;
    private long _nextReplyAt = long.MinValue; // a _time timestamp
    private FrameHandler? _onFrame;
    private Task? _loop;

    private VxlanTunnel(Socket socket, VxlanSettings settings, int mtu, ILogger logger, TimeProvider time, TimeSpan agingTime)
    {
        _socket = socket;
        _vni = settings.Vni;
        _mtu = mtu;
        _maxFrame = mtu + EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength;
        _gso = Platform.UdpSegmentation.IsSupported(socket);
        _gro = Platform.UdpSegmentation.TryEnableGro(socket);
        _logger = logger;
        _time = time;
        _table = new VtepTable(time, agingTime);
        _replyIntervalTicks = (long)(TooBigReplyInterval.TotalSeconds * time.TimestampFrequency);
        Settings = settings with { Local = (IPEndPoint)socket.LocalEndPoint! };
        Interface = $"vxlan {Settings.Vni} on {Settings.Local}";
        _peers = [.. settings.Peers.Select(p => new VxlanPeer(p))];
        _logLimit = TransportLog.Limit(logger, Interface, time);
        _sweep = time.CreateTimer(static s => ((VtepTable)s!).Sweep(), _table, agingTime, agingTime);
    }

    /// <summary>Binds <paramref name="settings"/>' local address now (a port in use fails here).</summary>
    /// <param name="mtu">The network's MTU: the longest inner IP packet (frames up to it plus an
    /// Ethernet header and a VLAN tag go through; longer ones are dropped and counted).</param>
    /// <param name="time">The clock of the learning table's ageing and the log rate limit.</param>
    /// <param name="agingTime">How long a learnt MAC stays without a frame (default 300 s, as 802.1D and Linux).</param>
    public static VxlanTunnel Open(VxlanSettings settings, int mtu, ILogger logger, TimeProvider? time = null, TimeSpan? agingTime = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Vni > VxlanSettings.MaxVni) throw new ArgumentException($"VNI {settings.Vni} is not 24 bits (0-{VxlanSettings.MaxVni})", nameof(settings));
        CheckFamilies(settings.Local, settings.Peers);
        var socket = new Socket(settings.Local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // One family per socket: peers compare byte for byte with senders (no IPv4-mapped senders).
            if (settings.Local.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
            socket.Bind(settings.Local);
            socket.Blocking = false;
            try
            {
                socket.SendBufferSize = SendBuffer;
                socket.ReceiveBufferSize = ReceiveBuffer;
            }
            catch (SocketException) { /* the system's limits apply */ }
            // RFC 7348 section 4.3: VTEPs MUST NOT fragment. With DF set the system refuses a
            // datagram that would not fit the path (EMSGSIZE) instead of fragmenting it, and we
            // count it as too big.
            try { socket.DontFragment = true; }
            catch (Exception e) when (e is SocketException or NotSupportedException or PlatformNotSupportedException) { }
            var tunnel = new VxlanTunnel(socket, settings, mtu, logger, time ?? TimeProvider.System, agingTime ?? VtepTable.DefaultAgingTime);
            VxlanLog.Listening(logger, tunnel.Settings.Vni, tunnel.Settings.Local.ToString(), tunnel.Settings.Peers.Count);
            return tunnel;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void CheckFamilies(IPEndPoint local, IReadOnlyList<IPEndPoint> peers)
    {
        foreach (var peer in peers)
            if (peer.AddressFamily != local.AddressFamily)
                throw new ArgumentException($"VXLAN peer {peer} is not in the address family of the local address {local}", nameof(peers));
    }

    /// <summary>The settings with the bound address (the port the system chose when 0 was asked)
    /// and the current peers.</summary>
    public VxlanSettings Settings { get; private set; }
    public string Kind => "vxlan";
    public string Interface { get; }

    /// <summary>With UDP GSO (Linux 4.18+) the tunnel takes a TAP guest's offloaded frames itself:
    /// a TCP segmentation job is cut here and its datagrams leave in one send per peer
    /// (<see cref="VxlanSendBatch"/>). Without it UplinkPort segments and checksums in software
    /// and every datagram is a send of its own.</summary>
    public bool SupportsOffload => _gso;

    public VxlanCounters Counters
    {
        get
        {
            var sent = new Dictionary<string, long>();
            foreach (var peer in _peers) sent[peer.EndPoint.ToString()] = peer.Sent;
            return _counters.Snapshot(_table.Count, sent);
        }
    }

    public void SetPeers(IReadOnlyList<IPEndPoint> peers)
    {
        CheckFamilies(Settings.Local, peers);
        lock (_peersLock)
        {
            var old = _peers;
            var next = new VxlanPeer[peers.Count];
            for (int i = 0; i < next.Length; i++)
                next[i] = Array.Find(old, p => p.EndPoint.Equals(peers[i])) ?? new VxlanPeer(peers[i]);
            _peers = next;
            // Entries behind a removed peer are unusable at once (Lookup checks the flag) and swept now.
            foreach (var gone in old)
                if (Array.IndexOf(next, gone) < 0) gone.Removed = true;
            _table.Sweep();
            Settings = Settings with { Peers = [.. peers] };
        }
        VxlanLog.PeersChanged(_logger, Interface, string.Join(", ", peers));
    }

    public void SetGuests(IReadOnlyCollection<MacAddress> macs) => _guests = [.. macs];

    public void Start(FrameHandler onFrame)
    {
        _onFrame = onFrame;
        if (!_gro) { _loop = ReceiveLoop(onFrame); return; }
        // LongRunning: a thread of its own, which sleeps in poll(2).
        _loop = Task.Factory.StartNew(new VxlanGroReceiver(this, onFrame).Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    internal Socket Socket => _socket;
    internal CancellationToken Stopping => _stop.Token;

    /// <summary>One datagram from the underlay, from the receive loop (or the GRO receiver, which
    /// is the receive loop when the system coalesces): counted, checked, learnt, delivered.</summary>
    internal void Receive(ReadOnlySpan<byte> datagram, SocketAddress from, FrameHandler onFrame)
    {
        if (TryAccept(datagram, from, _time.GetTimestamp(), out var frame)) Deliver(onFrame, frame, VirtioNetHeader.None);
    }

    /// <summary>Now, on the clock of the learning table (what <see cref="TryAccept"/> takes).</summary>
    internal long Timestamp() => _time.GetTimestamp();

    /// <summary>Counts, checks and learns (as seen at <paramref name="now"/>) one datagram; true with the inner frame when it may go
    /// to the switch, false when it was dropped (counted, and logged at a limited rate).</summary>
    internal bool TryAccept(ReadOnlySpan<byte> datagram, SocketAddress from, long now, out ReadOnlySpan<byte> frame)
    {
        _counters.In(datagram.Length);
        var drop = Accept(datagram, from, now, out frame);
        if (drop is not { } reason) return true;
        _counters.Drop(reason);
        if (_logLimit.ShouldLog()) VxlanLog.Dropped(_logger, Interface, Describe(from), reason.ToString());
        return false;
    }

    /// <summary>Hands a frame (or a <see cref="TcpCoalescer"/> superframe) to the switch; a failure
    /// there is logged and never stops the receive loop.</summary>
    internal void Deliver(FrameHandler onFrame, ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        try { onFrame(frame, offload); }
        catch (Exception e) when (e is not OutOfMemoryException) { if (_logLimit.ShouldLog()) TransportLog.FrameFailed(_logger, Interface, e); }
    }

    internal void ReceiveFailed(SocketError error)
    {
        if (_logLimit.ShouldLog()) VxlanLog.ReceiveError(_logger, Interface, error.ToString());
    }

    private async Task ReceiveLoop(FrameHandler onFrame)
    {
        var buffer = new byte[65536];
        var from = new SocketAddress(_socket.AddressFamily);
        int fullSize = from.Size;
        while (!_stop.IsCancellationRequested)
        {
            int n;
            from.Size = fullSize;
            try { n = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                // ICMP port unreachable for an earlier send (a peer whose daemon is down), on some systems.
                ReceiveFailed(e.SocketErrorCode);
                continue;
            }
            Receive(buffer.AsSpan(0, n), from, onFrame);
        }
    }

    /// <summary>Checks one datagram in the order that costs least to a stranger (who sent it, then
    /// the header) and learns its inner source MAC; null when <paramref name="frame"/> is to be
    /// delivered, else why it is dropped. Receive loop only.</summary>
    private VxlanDrop? Accept(ReadOnlySpan<byte> datagram, SocketAddress from, long now, out ReadOnlySpan<byte> frame)
    {
        frame = default;
        var peer = FindPeer(from);
        if (peer is null) return VxlanDrop.NotAPeer;
        if (Decapsulate(datagram, _vni, _maxFrame, out frame, out var source) is { } drop) return drop;
        if (_guests.Contains(source)) return VxlanDrop.LocalSource;
        _table.Learn(source, peer, now);
        return null;
    }

    /// <summary>The checks on a datagram's bytes (RFC 7348 section 5 header, our VNI, an Ethernet
    /// frame inside no longer than <paramref name="maxFrame"/>, a unicast source): null and the
    /// inner frame and its source MAC when it may go to the switch, else the drop reason. Never
    /// throws on wire data (the fuzz target "vxlan" runs it).</summary>
    internal static VxlanDrop? Decapsulate(ReadOnlySpan<byte> datagram, uint vni, int maxFrame, out ReadOnlySpan<byte> frame, out MacAddress source)
    {
        frame = default;
        source = default;
        switch (VxlanHeader.TryParse(datagram, out var header))
        {
            case VxlanParseStatus.Truncated: return VxlanDrop.Malformed;
            case VxlanParseStatus.BadFlags: return VxlanDrop.BadFlags;
        }
        if (header.Vni != vni) return VxlanDrop.WrongVni;
        var inner = header.Payload;
        if (!EthernetFrame.TryParse(inner, out var eth)) return VxlanDrop.Malformed;
        if (inner.Length > maxFrame) return VxlanDrop.TooBig;
        // A multicast source MAC is no station (IEEE 802.3 section 3.2.3); learning it would send
        // broadcast traffic to one peer.
        if (eth.Source.IsMulticast) return VxlanDrop.Malformed;
        frame = inner;
        source = eth.Source;
        return null;
    }

    private VxlanPeer? FindPeer(SocketAddress from)
    {
        foreach (var peer in _peers)
            if (peer.Matches(from)) return peer;
        return null;
    }

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (offload.IsPlain) return TrySendPlain(frame);
        if (!offload.IsGso || !_gso) return SoftwareOffload.Deliver(frame, offload, this, static (tunnel, f) => tunnel.TrySendPlain(f));
        return TrySendSegmented(frame, offload);
    }

    /// <summary>A TCP segmentation job: its segments (SoftwareOffload cuts them as Linux's GSO
    /// does) are encapsulated into the sending thread's batch and leave with one UDP GSO send per
    /// destination per batch; the checks are those of a plain frame, per segment.</summary>
    private bool TrySendSegmented(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (_stop.IsCancellationRequested) return false;
        if (frame.Length < EthernetFrame.HeaderLength) { _counters.Drop(VxlanDrop.Malformed); return false; }
        var batch = t_batch ??= new VxlanSendBatch();
        batch.Clear();
        batch.Tunnel = this;
        batch.Sent = false;
        var destination = MacAddress.Read(frame);
        batch.Vtep = destination.IsMulticast ? null : _table.Lookup(destination);
        bool ok = SoftwareOffload.Deliver(frame, offload, batch, static (b, segment) => b.Tunnel!.Append(b, segment));
        if (batch.Count > 0) Flush(batch);
        batch.Tunnel = null;
        batch.Vtep = null;
        return ok && batch.Sent;
    }

    private bool Append(VxlanSendBatch batch, ReadOnlySpan<byte> segment)
    {
        if (segment.Length > _maxFrame)
        {
            _counters.Drop(VxlanDrop.TooBig);
            ReplyTooBig(segment);
            return false;
        }
        if (batch.TryAppend(segment, _vni)) return true;
        Flush(batch);
        return batch.TryAppend(segment, _vni);
    }

    private void Flush(VxlanSendBatch batch)
    {
        if (batch.Vtep is { } vtep) batch.Sent |= SendBatch(vtep, batch);
        else
        {
            var peers = _peers;
            if (peers.Length > 0) _counters.Replicated(batch.Count);
            foreach (var peer in peers) batch.Sent |= SendBatch(peer, batch);
        }
        batch.Clear();
    }

    /// <summary>One UDP GSO send of the batch to <paramref name="peer"/>; where the kernel refuses
    /// it (EINVAL when the segment size does not fit the route with DF, EIO without checksum
    /// offload on the route) each datagram goes on its own, so the plain path's accounting
    /// (EMSGSIZE counted as too big) applies.</summary>
    private bool SendBatch(VxlanPeer peer, VxlanSendBatch batch)
    {
        var data = batch.Datagrams;
        if (batch.Count == 1) return SendTo(peer, data);
        Platform.IoResult result;
        try { result = Platform.UdpSegmentation.SendSegmented(_socket, data, peer.Address, batch.SegmentSize); }
        catch (ObjectDisposedException) { return false; }
        if (!result.Failed && !result.WouldBlock)
        {
            peer.CountSent(batch.Count);
            _counters.Out(batch.Count, data.Length);
            return true;
        }
        if (result.WouldBlock || result.Error == SocketError.NoBufferSpaceAvailable) return false;
        bool any = false;
        for (int at = 0; at < data.Length; at += batch.SegmentSize)
            any |= SendTo(peer, data.Slice(at, Math.Min(batch.SegmentSize, data.Length - at)));
        return any;
    }

    private bool TrySendPlain(ReadOnlySpan<byte> frame)
    {
        if (_stop.IsCancellationRequested) return false;
        if (frame.Length < EthernetFrame.HeaderLength) { _counters.Drop(VxlanDrop.Malformed); return false; }
        if (frame.Length > _maxFrame)
        {
            _counters.Drop(VxlanDrop.TooBig);
            ReplyTooBig(frame);
            return false;
        }
        var buffer = t_datagram;
        if (buffer is null || buffer.Length < VxlanHeader.Length + frame.Length)
            t_datagram = buffer = new byte[VxlanHeader.Length + Math.Max(frame.Length, _maxFrame)];
        VxlanHeader.Write(buffer, _vni);
        frame.CopyTo(buffer.AsSpan(VxlanHeader.Length));
        var datagram = buffer.AsSpan(0, VxlanHeader.Length + frame.Length);

        var destination = MacAddress.Read(frame);
        if (!destination.IsMulticast && _table.Lookup(destination) is { } vtep)
            return SendTo(vtep, datagram);
        var peers = _peers;
        if (peers.Length == 0) return false;
        _counters.Replicated();
        bool any = false;
        foreach (var peer in peers) any |= SendTo(peer, datagram);
        return any;
    }

    /// <summary>Answers a frame over the MTU with ICMP, at most once per <see cref="TooBigReplyInterval"/>.</summary>
    private void ReplyTooBig(ReadOnlySpan<byte> frame)
    {
        if (_onFrame is not { } deliver) return;
        long now = _time.GetTimestamp(), due = Volatile.Read(ref _nextReplyAt);
        if (now < due || Interlocked.CompareExchange(ref _nextReplyAt, now + _replyIntervalTicks, due) != due) return;
        Span<byte> reply = stackalloc byte[TooBigReply.MaxLength];
        int n = TooBigReply.TryWrite(frame, _mtu, reply);
        if (n == 0) return;
        try { deliver(reply[..n], VirtioNetHeader.None); }
        catch (Exception e) when (e is not OutOfMemoryException) { if (_logLimit.ShouldLog()) TransportLog.FrameFailed(_logger, Interface, e); }
    }

    private bool SendTo(VxlanPeer peer, ReadOnlySpan<byte> datagram)
    {
        Platform.IoResult result;
        try { result = Platform.NonBlockingSocket.SendTo(_socket, datagram, peer.Address); }
        catch (ObjectDisposedException) { return false; }
        if (!result.Failed && !result.WouldBlock)
        {
            peer.CountSent();
            _counters.Out(datagram.Length);
            return true;
        }
        if (result.Error == SocketError.MessageSize)
        {
            // EMSGSIZE: with DF set, the underlay route (or a path MTU the system learnt) is
            // smaller than the network's MTU plus the 50 bytes of encapsulation: a configuration
            // error (the network's --mtu), counted and logged; the guest is not told a number we
            // do not know.
            _counters.Drop(VxlanDrop.TooBig);
            if (_logLimit.ShouldLog()) VxlanLog.UnderlayTooSmall(_logger, Interface, datagram.Length, peer.EndPoint.ToString(), _mtu);
        }
        // Full (EAGAIN, ENOBUFS): drop, as a full NIC ring would; unreachable: the peer is away.
        // Both are the switch's transmit drops on this port when no peer took the frame.
        return false;
    }

    private static string Describe(SocketAddress address)
    {
        try { return (address.Family == AddressFamily.InterNetwork ? Any4 : Any6).Create(address).ToString() ?? "?"; }
        catch (ArgumentException) { return "?"; }
    }

    private static readonly IPEndPoint Any4 = new(IPAddress.Any, 0), Any6 = new(IPAddress.IPv6Any, 0);

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _sweep.Dispose();
        _socket.Dispose();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _logLimit.Dispose();
    }
}

/// <summary>The VXLAN tunnel's log messages (event ids 400-404).</summary>
internal static partial class VxlanLog
{
    [LoggerMessage(EventId = LogEvents.VxlanListening, Level = LogLevel.Information, Message = "VXLAN VNI {Vni} listening on {Local} with {Peers} peers")]
    public static partial void Listening(ILogger logger, uint vni, string local, int peers);

    [LoggerMessage(EventId = LogEvents.VxlanDropped, Level = LogLevel.Warning, Message = "{Tunnel}: a datagram from {Sender} was dropped ({Reason}); the tunnel's counters count every one")]
    public static partial void Dropped(ILogger logger, string tunnel, string sender, string reason);

    [LoggerMessage(EventId = LogEvents.VxlanReceiveError, Level = LogLevel.Information, Message = "{Tunnel}: receive error {Error} (a peer that is down answers with ICMP port unreachable)")]
    public static partial void ReceiveError(ILogger logger, string tunnel, string error);

    [LoggerMessage(EventId = LogEvents.VxlanUnderlayTooSmall, Level = LogLevel.Warning,
        Message = "{Tunnel}: a {Bytes}-byte datagram to {Peer} does not fit the underlay path (EMSGSIZE); the network's MTU {Mtu} must be at most the underlay's minus 50 (RFC 7348 section 4.3)")]
    public static partial void UnderlayTooSmall(ILogger logger, string tunnel, int bytes, string peer, int mtu);

    [LoggerMessage(EventId = LogEvents.VxlanPeersChanged, Level = LogLevel.Information, Message = "{Tunnel}: peers are now {Peers}")]
    public static partial void PeersChanged(ILogger logger, string tunnel, string peers);
}
