using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Network.Switching;
using Switchyard.Network.Tcp;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

/// <summary>
/// One guest TCP connection translated onto one host socket, without a second TCP stack (the
/// approach of passt's tcp.c): the guest talks TCP to us, the host kernel talks TCP to the
/// remote, and this class moves bytes between them while keeping each side's sequence space.
///
/// Guest to host: a guest segment is written straight into the host socket; only what the
/// socket cannot take yet is copied into <see cref="_toHost"/>, and the window we advertise to
/// the guest is that queue's free space, so the guest never sends more than we can hold. We
/// acknowledge a byte once the host kernel or the queue has it.
///
/// Host to guest: bytes are read from the socket only while the guest's window has room (the
/// guest's window drives the reads), kept in <see cref="_toGuest"/> until the guest acknowledges
/// them, and sent as one offloaded frame per up-to-64 KiB run (a TSO job the guest's NIC side
/// cuts, or <see cref="Switching.SoftwareOffload"/> for ports without offloads). Retransmission
/// goes back to the oldest unacknowledged byte (RFC 9293 §3.8.1) on timeout or after three
/// duplicate ACKs (RFC 5681 §3.2).
///
/// Options: MSS and window scale (RFC 7323 §2) are negotiated; SACK and timestamps are not
/// offered, so the guest sends neither and we never need to interpret them. FIN travels in
/// each direction on its own (half-close); RST in either direction resets the other side.
///
/// Threads: guest segments arrive on the guest port's receive thread, socket completions on
/// the thread pool, timer ticks on the engine's timer. One lock per flow serialises them.
///
/// Files: this one holds the state and the endings; <c>.GuestSegments</c> the guest's side,
/// <c>.HostSocket</c> the host socket's, <c>.ToGuest</c> what we send the guest, <c>.Timers</c>
/// the timeouts. Sequence arithmetic is <see cref="Tcp.SequenceNumbers"/>.
/// </summary>
internal sealed partial class TcpFlow : IBurstWork
{
    /// <summary>Our receive window scale: 2^7 lets the 16-bit field say up to 8 MiB (RFC 7323 §2.3).</summary>
    private const byte OurWindowScale = 7;
    internal const int ToHostCapacity = 512 * 1024;
    internal const int ToGuestCapacity = 1024 * 1024;
    /// <summary>The most TCP payload one IPv4 frame can carry.</summary>
    private const int MaxFramePayload = 65535 - Ipv4Packet.MinHeaderLength - TcpSegment.MinHeaderLength;
    private static readonly long InitialRto = TimeSpan.FromMilliseconds(200).Ticks;   // RFC 6298 §2 allows less than 1 s on a link we know
    private static readonly long MaxRto = TimeSpan.FromSeconds(10).Ticks;
    private const int MaxRetransmits = 12;
    private static readonly long HandshakeTimeout = TimeSpan.FromSeconds(75).Ticks;
    /// <summary>The wait for host data reads this much itself: a request/response answer usually fits.
    /// Held by every flow that waits, so a thousand idle flows cost a megabyte.</summary>
    private const int ReadBufferSize = 1024;
    /// <summary>The most guest data a receive burst leaves unacknowledged (.GuestSegments): a quarter of
    /// the window we can offer, so the guest keeps sending while we read.</summary>
    private const int MaxDeferredAck = ToHostCapacity / 4;

    private enum State { Connecting, SynAckSent, SynSent, Established, Closed }

    private readonly NatEngine _engine;
    private readonly Socket _socket;
    private readonly object _lock = new();
    // Host bytes start in 16 KiB and grow as the guest's window lets a flow go faster; the to-host
    // queue is lent to async sends, so it never moves (and is taken only when the socket backs up).
    private readonly ByteRing _toGuest = new(ToGuestCapacity, initialSize: 16 * 1024);
    private readonly ByteRing _toHost = new(ToHostCapacity);
    private readonly SocketAsyncEventArgs _readArgs = new();
    private readonly SocketAsyncEventArgs _writeArgs = new();
    private readonly byte[]? _synQuote;
    private byte[]? _readBuffer;   // the guest's SYN (IP header + 8 bytes), quoted by ICMP errors
    // Egress: the guest's bytes wait in _toHost until they name an allowed server (null: no check);
    // the last _held bytes of _toHost are not yet released to the host (.GuestSegments).
    private ServerNameInspection? _inspection;
    private int _held;

    private State _state;
    private MacAddress _guestMac;
    private uint _iss, _sndUna, _sndNxt;      // our sequence space, toward the guest
    private uint _rcvNxt;                     // the guest's next byte we expect
    private uint _ackSent;                    // the acknowledgment number the guest last heard from us
    private int _guestWindow;                 // bytes, already scaled
    private byte _guestScale;
    private bool _scaling;
    private int _guestMss;
    private bool _hostEof, _finSent, _guestFin, _hostWriteShut;
    private bool _readArmed, _writing, _ackPending;
    private bool _burstAck;                   // queued with ReceiveBurst for this burst's end (.GuestSegments)
    private int _dupAcks, _retransmits;
    private int _advertised;                  // the receive window (bytes) the guest last heard from us
    private long _rto = InitialRto, _lastProgress, _created;
    private ushort _ipId;

    public FlowKey Key { get; }

    /// <summary>The endpoint's share this flow holds a place in (set before it enters its table;
    /// the place is given back when it leaves).</summary>
    internal FlowShare? Share { get; set; }

    /// <summary>For a flow we connected out: the remote and the local address the host chose,
    /// which the engine's path check compares against the host's routes now.</summary>
    public IPEndPoint? HostRemote { get; private set; }
    public IPAddress? HostLocal { get; private set; }

    private TcpFlow(NatEngine engine, FlowKey key, MacAddress guestMac, Socket socket, byte[]? synQuote)
    {
        _engine = engine;
        Key = key;
        _guestMac = guestMac;
        _socket = socket;
        _synQuote = synQuote;
        _created = _lastProgress = engine.NowTicks;
        _readArgs.Completed += static (_, e) => ((TcpFlow)e.UserToken!).OnReadable();
        _readArgs.UserToken = this;
        _writeArgs.Completed += static (_, e) => ((TcpFlow)e.UserToken!).OnWriteCompleted();
        _writeArgs.UserToken = this;
        _iss = (uint)Random.Shared.Next();
        _sndUna = _sndNxt = _iss;
    }

    private long Now => _engine.NowTicks;

    /// <summary>IP and TCP headers without options: what the MTU leaves room for besides the MSS.</summary>
    private int HeadersLength => (Key.IsIpv4 ? Ipv4Packet.MinHeaderLength : Ipv6Packet.HeaderLength) + TcpSegment.MinHeaderLength;

    /// <summary>A guest's SYN to the outside (or to the host's loopback): connects a host socket
    /// and answers the guest with the real outcome.</summary>
    public static TcpFlow Outbound(NatEngine engine, FlowKey key, MacAddress guestMac, ReadOnlySpan<byte> synQuote, in TcpSegment syn, IPEndPoint target,
        ServerNameInspection? inspection = null)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var quote = synQuote.ToArray();
        var flow = new TcpFlow(engine, key, guestMac, socket, quote) { _state = State.Connecting, _inspection = inspection };
        flow._rcvNxt = syn.SequenceNumber + 1;
        flow.TakeSynOptions(syn);
        return flow;
    }

    /// <summary>A host client accepted on a published port: we open the connection to the guest.</summary>
    public static TcpFlow Inbound(NatEngine engine, FlowKey key, MacAddress guestMac, Socket accepted)
    {
        accepted.NoDelay = true;
        return new TcpFlow(engine, key, guestMac, accepted, null) { _state = State.SynSent };
    }

    /// <summary>Starts the host connect (outbound) or sends our SYN (inbound).</summary>
    public void Start(IPEndPoint? target)
    {
        lock (_lock)
        {
            if (_state == State.SynSent)
            {
                _socket.Blocking = false;
                SendSyn();
                return;
            }
            _writeArgs.RemoteEndPoint = target;
            bool pending;
            try { pending = _socket.ConnectAsync(_writeArgs); }
            catch (SocketException e) { ConnectFailed(e.SocketErrorCode); return; }
            if (!pending) OnConnected();
        }
    }

    private void TakeSynOptions(in TcpSegment syn)
    {
        var options = syn.ReadOptions();
        // RFC 9293 §3.7.1: no more than the peer's MSS (536 when it gave none), and never more than our MTU allows.
        _guestMss = Math.Clamp((int)(options.Mss ?? 536), 88, _engine.Mtu - HeadersLength);
        if (options.WindowScale is byte ws) { _scaling = true; _guestScale = ws; }
        _guestWindow = syn.Window; // RFC 7323 §2.2: the window in a SYN is never scaled
    }

    private ushort OurWindow()
    {
        int free = _toHost.Free;
        ushort field = (ushort)Math.Min(_scaling ? free >> OurWindowScale : free, 65535);
        _advertised = _scaling ? field << OurWindowScale : field;
        return field;
    }

    // ---- endings ----------------------------------------------------------------------

    /// <summary>The host side failed (reset, route gone, timeout): the guest gets a RST rather
    /// than a connection that hangs.</summary>
    private void ResetGuest()
    {
        if (_state == State.Closed) return;
        if (_state is State.Established or State.SynAckSent)
            _engine.SendTcp(new TcpReply(Key, _guestMac, _sndNxt, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack, 0, ipId: _ipId++));
        Close(reset: true);
    }

    /// <summary>Ends the flow. With <paramref name="reset"/> the host peer gets a RST (SO_LINGER 0)
    /// instead of a FIN.</summary>
    public void Close(bool reset)
    {
        lock (_lock)
        {
            if (_state == State.Closed) return;
            _state = State.Closed;
            try
            {
                if (reset) _socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
            _socket.Dispose();
            _toGuest.Release();
            if (!_writing) _toHost.Release();
            _engine.Remove(this);
        }
    }

    /// <summary>The host lost the path this flow's socket uses (no route to the remote, or the local
    /// address it was bound to is gone): the guest gets a RST now rather than a connection that
    /// hangs until the host kernel gives up.</summary>
    public void OnPathLost()
    {
        lock (_lock) ResetGuest();
    }

    /// <summary>The guest left (endpoint detached, network removed): reset the host side.</summary>
    public void Abort() => Close(reset: true);
}
