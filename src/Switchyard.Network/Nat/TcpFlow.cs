using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Egress;
using Switchyard.Packets;
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
/// </summary>
internal sealed class TcpFlow
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
    // Egress: the guest's first bytes wait in _toHost until they name an allowed server (null: no check).
    private ServerNameInspection? _inspection;

    private State _state;
    private MacAddress _guestMac;
    private uint _iss, _sndUna, _sndNxt;      // our sequence space, toward the guest
    private uint _rcvNxt;                     // the guest's next byte we expect
    private int _guestWindow;                 // bytes, already scaled
    private byte _guestScale;
    private bool _scaling;
    private int _guestMss;
    private bool _hostEof, _finSent, _guestFin, _hostWriteShut;
    private bool _readArmed, _writing, _ackPending;
    private int _dupAcks, _retransmits;
    private int _advertised;                  // the receive window (bytes) the guest last heard from us
    private long _rto = InitialRto, _lastProgress, _created;
    private ushort _ipId;

    public FlowKey Key { get; }

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

    // ---- host socket events -------------------------------------------------------------

    private void OnConnected()
    {
        // Called with the lock held, from Start or from the connect completion.
        if (_state != State.Connecting) return;
        if (_writeArgs.SocketError != SocketError.Success) { ConnectFailed(_writeArgs.SocketError); return; }
        _socket.Blocking = false;
        HostRemote = _writeArgs.RemoteEndPoint as IPEndPoint;
        HostLocal = (_socket.LocalEndPoint as IPEndPoint)?.Address;
        _writeArgs.RemoteEndPoint = null;
        _state = State.SynAckSent;
        _lastProgress = Now;
        SendSynAck();
    }

    private void ConnectFailed(SocketError error)
    {
        switch (error)
        {
            // The remote said no: the guest sees the RST the remote sent (RFC 9293 §3.10.7.3).
            case SocketError.ConnectionRefused:
                _engine.SendTcp(new TcpReply(Key, _guestMac, 0, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack, 0));
                break;
            // No route: what a router would say (RFC 1812 §5.2.7.1).
            case SocketError.NetworkUnreachable:
                if (_synQuote is not null) _engine.SendUnreachable(_guestMac, Key, 0, _synQuote);
                break;
            case SocketError.HostUnreachable:
                if (_synQuote is not null) _engine.SendUnreachable(_guestMac, Key, 1, _synQuote);
                break;
            case SocketError.AccessDenied:   // a host firewall: administratively prohibited (RFC 1812 §5.2.7.1)
                if (_synQuote is not null) _engine.SendUnreachable(_guestMac, Key, 13, _synQuote);
                break;
            // A timeout: a router says nothing; the guest's own timers decide.
        }
        Close(reset: false);
    }

    private void OnReadable()
    {
        lock (_lock)
        {
            _readArmed = false;
            if (_state == State.Closed) return;
            if (!TakeRead()) return;
            // A short read drained the socket: wait again (the first try is the check); a full one
            // may have left more: read on directly.
            if (_readArgs.BytesTransferred < _readArgs.Count && ArmRead()) return;
            PumpFromHost();
        }
    }

    private void OnWriteCompleted()
    {
        lock (_lock)
        {
            if (_state == State.Closed) return;
            if (_state == State.Connecting) { OnConnected(); return; }
            if (!WriteDone()) return;
            StartWrite();
        }
    }

    /// <summary>Accounts for a finished async send; false when the flow ended.</summary>
    private bool WriteDone()
    {
        _writing = false;
        if (_writeArgs.SocketError != SocketError.Success) { ResetGuest(); return false; }
        _toHost.Consume(_writeArgs.BytesTransferred);
        // The window grew back by a segment or half the buffer since the guest last heard: tell it,
        // or a guest that stopped at a small window waits for its persist timer (RFC 1122 §4.2.3.3).
        if (_state == State.Established && _toHost.Free - _advertised >= Math.Min(ToHostCapacity / 2, _guestMss)) SendAck();
        return true;
    }

    /// <summary>Drains <see cref="_toHost"/> with async sends, one contiguous run at a time.</summary>
    private void StartWrite()
    {
        while (!_writing && _toHost.Count > 0 && _inspection is null)
        {
            var run = _toHost.ReadableSegment();
            _writeArgs.SetBuffer(run.Array, run.Offset, run.Count);
            _writing = true;
            bool pending;
            try { pending = _socket.SendAsync(_writeArgs); }
            catch (ObjectDisposedException) { return; }
            if (pending) return;
            if (!WriteDone()) return;
        }
        if (!_writing && _toHost.Count == 0 && _guestFin && _inspection is null) ShutdownHostWrite();
    }

    private void ShutdownHostWrite()
    {
        if (_hostWriteShut) return;
        _hostWriteShut = true;
        try { _socket.Shutdown(SocketShutdown.Send); }
        catch (SocketException) { }
    }

    /// <summary>Reads from the host socket while the guest's window and our queue have room, and
    /// sends what arrives. When the socket has nothing, waits for it (<see cref="ArmRead"/>); an
    /// idle flow holds only that wait's small buffer, never a queue.</summary>
    private void PumpFromHost()
    {
        if (_state != State.Established) return;
        while (!_hostEof)
        {
            int room = Math.Min(_toGuest.Free, _guestWindow - _toGuest.Count);
            if (room <= 0) break;   // the guest's next ACK calls us again
            var span = _toGuest.WritableSpan(room);
            var r = NonBlockingSocket.Receive(_socket, span);
            if (r.WouldBlock)
            {
                if (_toGuest.Count == 0) _toGuest.Release();
                if (!ArmRead()) continue;
                break;
            }
            if (r.Failed) { ResetGuest(); return; }
            if (r.Bytes == 0) { _hostEof = true; break; }
            EndInspectionIfServerFirst();
            _toGuest.Commit(r.Bytes);
            PushToGuest();
            // A short read drained the socket: arm the readiness wait now (its first try is the
            // check) instead of spending a recv on EAGAIN.
            if (r.Bytes < span.Length && ArmRead()) break;
        }
        PushToGuest();
        if (_toGuest.Count == 0) _toGuest.Release();
    }

    /// <summary>Waits for the socket with a small receive of its own (up to <see cref="ReadBufferSize"/>
    /// bytes into the flow's own small buffer), so a short answer costs one recv, not a readiness
    /// check and a read. Returns true while the wait is pending (or the flow ended); false when it
    /// completed at once and the caller should read on.</summary>
    private bool ArmRead()
    {
        if (_readArmed) return true;
        if (_toGuest.Free == 0) return true;   // the guest's next ACK reads on
        _readArmed = true;
        _readBuffer ??= new byte[ReadBufferSize];
        _readArgs.SetBuffer(_readBuffer, 0, Math.Min(ReadBufferSize, _toGuest.Free));
        _readArgs.SocketFlags = SocketFlags.None;   // a completed receive overwrites it with the flags it got
        bool pending;
        try { pending = _socket.ReceiveAsync(_readArgs); }
        catch (ObjectDisposedException) { return true; }
        if (pending) return true;
        _readArmed = false;
        return !TakeRead();
    }

    /// <summary>Takes what the wait's receive brought; false when the flow ended (error) or the host
    /// finished sending (EOF: our FIN follows the data).</summary>
    private bool TakeRead()
    {
        if (_readArgs.SocketError != SocketError.Success) { ResetGuest(); return false; }
        int n = _readArgs.BytesTransferred;
        if (n == 0) { _hostEof = true; PushToGuest(); return false; }
        EndInspectionIfServerFirst();
        _toGuest.Write(_readBuffer.AsSpan(0, n));
        PushToGuest();
        return true;
    }

    // ---- guest segments -----------------------------------------------------------------

    public void OnGuestSegment(MacAddress guestMac, in TcpSegment seg)
    {
        lock (_lock)
        {
            if (_state == State.Closed) return;
            _guestMac = guestMac;
            if (seg.Has(TcpFlags.Rst)) { OnGuestReset(seg); return; }
            switch (_state)
            {
                case State.Connecting:
                    return; // SYN retransmissions while the host connect runs
                case State.SynAckSent:
                    if (seg.Has(TcpFlags.Syn)) { if (seg.SequenceNumber + 1 == _rcvNxt) SendSynAck(); return; }
                    if (!seg.Has(TcpFlags.Ack) || seg.AcknowledgmentNumber != _iss + 1) return;
                    _sndUna = _sndNxt = _iss + 1;
                    _state = State.Established;
                    _lastProgress = Now;
                    _retransmits = 0;
                    PumpFromHost();   // the remote may have spoken first (a banner)
                    break;
                case State.SynSent:
                    if (!seg.Has(TcpFlags.Syn | TcpFlags.Ack) || seg.AcknowledgmentNumber != _iss + 1) return;
                    _rcvNxt = seg.SequenceNumber + 1;
                    TakeSynOptions(seg);
                    _sndUna = _sndNxt = _iss + 1;
                    _state = State.Established;
                    _lastProgress = Now;
                    _retransmits = 0;
                    SendAck();
                    PumpFromHost();
                    return;
            }
            OnEstablishedSegment(seg);
        }
    }

    private void OnGuestReset(in TcpSegment seg)
    {
        // RFC 5961 §3.2 in spirit: only a RST inside the window we expect ends the flow.
        if (_state == State.Established && (int)(seg.SequenceNumber - _rcvNxt) is < 0 or > ToHostCapacity) return;
        if (_state == State.SynSent && !seg.Has(TcpFlags.Ack)) return;
        Close(reset: true);
    }

    private void OnEstablishedSegment(in TcpSegment seg)
    {
        if (seg.Has(TcpFlags.Syn)) { SendAck(); return; } // a stale SYN: RFC 9293 §3.10.7.4 challenge ACK
        if (!seg.Has(TcpFlags.Ack)) return;
        bool freed = ProcessAck(seg);

        bool mustAck = false;
        var payload = seg.Payload;
        uint seq = seg.SequenceNumber;
        if (payload.Length > 0)
        {
            mustAck = true;
            int skip = (int)(_rcvNxt - seq);
            if (skip >= 0 && skip < payload.Length && !_guestFin)
            {
                // In order (or overlapping what we have): take the new part.
                int accepted = TakeFromGuest(payload[skip..]);
                if (_state == State.Closed) return;   // the egress check refused it: the guest got a RST
                _rcvNxt += (uint)accepted;
            }
            // Beyond _rcvNxt (a gap) or all old: the duplicate ACK below tells the guest where we are.
        }
        if (seg.Has(TcpFlags.Fin) && !_guestFin && seq + (uint)payload.Length == _rcvNxt)
        {
            _guestFin = true;
            _rcvNxt++;
            mustAck = true;
            if (_inspection is not null && _toHost.Count > 0)
            {
                // It stopped sending before naming a server.
                _inspection.Fail(_guestMac, "incomplete-hello");
                _inspection = null;
                ResetGuest();
                return;
            }
            _inspection = null;
            if (_toHost.Count == 0 && !_writing) ShutdownHostWrite();
        }
        if (freed) PumpFromHost();
        uint before = _sndNxt;
        PushToGuest();
        if (mustAck && _sndNxt == before)   // data we sent carried the ACK already
        {
            // A small segment (a request) is acknowledged a moment later, so the answer the host is
            // about to send carries the ACK and the guest handles one frame, not two (RFC 1122
            // §4.2.3.2 delayed ACK, here 1 ms). Full segments, FINs and out-of-order data are
            // acknowledged at once: bulk senders are ACK-clocked.
            if (payload.Length > 0 && payload.Length < _guestMss && !seg.Has(TcpFlags.Fin) && (int)(_rcvNxt - seq) == payload.Length && !_ackPending)
            {
                _ackPending = true;
                _engine.AckLater(this);
            }
            else SendAck();
        }
        if (_guestFin && _finSent && _sndUna == _sndNxt) Close(reset: false);
    }

    /// <summary>RFC 9293 §3.10.7.4 (SEG.ACK processing). Returns whether bytes were freed.</summary>
    private bool ProcessAck(in TcpSegment seg)
    {
        uint ack = seg.AcknowledgmentNumber;
        int window = _scaling ? seg.Window << _guestScale : seg.Window;
        bool freed = false;
        if (SeqGt(ack, _sndUna) && SeqLe(ack, _sndNxt))
        {
            int acked = (int)(ack - _sndUna);
            if (_finSent && ack == _sndNxt) acked--;   // our FIN takes a sequence number, not a byte
            _toGuest.Consume(Math.Min(acked, _toGuest.Count));
            _sndUna = ack;
            _dupAcks = 0;
            _retransmits = 0;
            _rto = InitialRto;
            _lastProgress = Now;
            freed = true;
        }
        else if (ack == _sndUna && seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin) && _sndNxt != _sndUna && window == _guestWindow)
        {
            // RFC 5681 §3.2: the third duplicate ACK means a segment was lost; resend from _sndUna.
            if (++_dupAcks == 3) GoBack();
        }
        if (window > _guestWindow) freed = true;
        _guestWindow = window;
        return freed;
    }

    /// <summary>Writes guest bytes to the host socket, queueing what it cannot take yet. Returns
    /// how many bytes were accepted (the rest is outside the window we advertised).</summary>
    private int TakeFromGuest(ReadOnlySpan<byte> data)
    {
        if (_inspection is not null) return HoldForInspection(data);
        int sent = 0;
        if (_toHost.Count == 0 && !_writing)
        {
            var r = NonBlockingSocket.Send(_socket, data);
            if (r.Failed) { ResetGuest(); return 0; }
            sent = r.Bytes;
        }
        if (sent == data.Length) return sent;
        int queued = _toHost.Write(data[sent..]);
        StartWrite();
        return sent + queued;
    }

    /// <summary>Keeps the guest's first bytes from the host until the egress check decides: on
    /// allow they go out as queued, on deny the guest gets a RST and the host peer one too.</summary>
    private int HoldForInspection(ReadOnlySpan<byte> data)
    {
        int queued = _toHost.Write(data);
        var held = _toHost.ReadableSegment();   // nothing was consumed yet: the stream from its first byte, in one run
        switch (_inspection!.Examine(_guestMac, held, Now))
        {
            case ServerNameInspection.Outcome.Allowed:
                _inspection = null;
                StartWrite();
                break;
            case ServerNameInspection.Outcome.Denied:
                _inspection = null;
                ResetGuest();
                return 0;
        }
        return queued;
    }

    /// <summary>The host spoke before the guest sent anything: a server-first protocol (SSH, SMTP),
    /// with no name to read. The address was vetted when the flow opened.</summary>
    private void EndInspectionIfServerFirst()
    {
        if (_inspection is not null && _toHost.Count == 0) _inspection = null;
    }

    // ---- toward the guest ---------------------------------------------------------------

    /// <summary>Sends unsent bytes the guest's window allows, then our FIN once the host's EOF is
    /// reached and everything before it is out.</summary>
    private void PushToGuest()
    {
        if (_state != State.Established) return;
        while (true)
        {
            int inFlight = (int)(_sndNxt - _sndUna) - (_finSent && _sndUna != _sndNxt ? 1 : 0);
            int unsent = _toGuest.Count - inFlight;
            int window = _guestWindow - inFlight;
            if (unsent <= 0 || window <= 0)
            {
                if (_hostEof && !_finSent && unsent <= 0)
                {
                    SendSegment(TcpFlags.Fin | TcpFlags.Ack, _sndNxt, 0, 0);
                    _sndNxt++;
                    _finSent = true;
                }
                return;
            }
            int n = Math.Min(Math.Min(unsent, window), MaxFramePayload);
            if (n > _guestMss) n -= n % _guestMss;   // whole segments per job, no runt at its end
            SendSegment(TcpFlags.Ack | TcpFlags.Psh, _sndNxt, inFlight, n);
            if (_sndNxt == _sndUna) _lastProgress = Now;   // the retransmission clock starts with the first byte out
            _sndNxt += (uint)n;
        }
    }

    /// <summary>Go-back-N from the oldest unacknowledged byte (and our FIN if it was out).</summary>
    private void GoBack()
    {
        _sndNxt = _sndUna;
        if (_finSent) { _finSent = false; }
        PushToGuest();
    }

    private void SendSegment(TcpFlags flags, uint seq, int ringOffset, int length)
    {
        _ackPending = false;   // whatever we send carries the latest ACK
        _engine.SendTcp(new TcpReply(Key, _guestMac, seq, _rcvNxt, flags, OurWindow(), ipId: _ipId++)
            { Data = _toGuest, DataOffset = ringOffset, DataLength = length, Mss = _guestMss });
    }

    /// <summary>The engine's delayed-ACK flush: sends the ACK if nothing carried it meanwhile.</summary>
    public void FlushDelayedAck()
    {
        lock (_lock)
        {
            if (_ackPending && _state == State.Established) SendAck();
            _ackPending = false;
        }
    }

    private void SendAck() => SendSegment(TcpFlags.Ack, _sndNxt, 0, 0);

    private void SendSynAck()
    {
        Span<byte> options = stackalloc byte[8];
        int n = TcpOptions.WriteSynOptions(options, (ushort)(_engine.Mtu - HeadersLength), _scaling ? OurWindowScale : null);
        _engine.SendTcp(new TcpReply(Key, _guestMac, _iss, _rcvNxt, TcpFlags.Syn | TcpFlags.Ack, (ushort)Math.Min(_toHost.Free, 65535),
            options[..n], _ipId++));
    }

    private void SendSyn()
    {
        Span<byte> options = stackalloc byte[8];
        int n = TcpOptions.WriteSynOptions(options, (ushort)(_engine.Mtu - HeadersLength), OurWindowScale);
        // We offer scaling; it holds only if the guest's SYN-ACK offers it too (RFC 7323 §1.3).
        _engine.SendTcp(new TcpReply(Key, _guestMac, _iss, 0, TcpFlags.Syn, 65535, options[..n], _ipId++));
    }

    // ---- timers and endings -------------------------------------------------------------

    /// <summary>Called by the engine's timer: retransmission and handshake timeouts.</summary>
    public void Tick(long now)
    {
        lock (_lock)
        {
            switch (_state)
            {
                case State.Closed:
                    return;
                case State.Connecting:
                    if (now - _created > HandshakeTimeout) Close(reset: true);
                    return;
                case State.SynAckSent or State.SynSent:
                    if (now - _lastProgress < _rto) return;
                    if (++_retransmits > 6) { Close(reset: true); return; }
                    Backoff(now);
                    if (_state == State.SynSent) SendSyn(); else SendSynAck();
                    return;
            }
            if (_inspection is { FirstByteAt: > 0 } inspection && now - inspection.FirstByteAt > ServerNameInspection.Timeout.Ticks)
            {
                inspection.Fail(_guestMac, "hello-timeout");
                _inspection = null;
                ResetGuest();
                return;
            }
            int inFlight = (int)(_sndNxt - _sndUna);
            if (inFlight == 0)
            {
                // Zero window with data waiting: probe, so a lost window update cannot stall us (RFC 9293 §3.8.6.1).
                if (_toGuest.Count > 0 && _guestWindow == 0 && now - _lastProgress >= _rto)
                {
                    Backoff(now);
                    SendSegment(TcpFlags.Ack, _sndUna - 1, 0, 0);
                }
                return;
            }
            if (now - _lastProgress < _rto) return;
            if (++_retransmits > MaxRetransmits) { ResetGuest(); return; }
            Backoff(now);
            GoBack();
        }
    }

    private void Backoff(long now)
    {
        _lastProgress = now;
        _rto = Math.Min(_rto * 2, MaxRto);   // RFC 6298 §5.5
    }

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

    private static bool SeqGt(uint a, uint b) => (int)(a - b) > 0;
    private static bool SeqLe(uint a, uint b) => (int)(a - b) <= 0;
}
