using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Packets.Http;
using Switchyard.Network.Switching;
using Switchyard.Network.Tcp;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

// The guest side of a flow: its segments (handshake, ACKs, data, FIN, RST) and the egress
// check of its bytes (the first ones, or every HTTP request head). Runs on the guest port's receive thread, under the flow's lock.
internal sealed partial class TcpFlow
{
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
        if (_state == State.Established && SequenceNumbers.Distance(_rcvNxt, seg.SequenceNumber) is < 0 or > ToHostCapacity) return;
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
            int skip = SequenceNumbers.Distance(seq, _rcvNxt);
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
            if (_inspection is not null && _held > 0)
            {
                // It stopped sending in the middle of a hello or request head.
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
            // acknowledged at once: bulk senders are ACK-clocked. "At once" for in-order data is the end
            // of the guest port's receive burst (ReceiveBurst): segments read back to back get one ACK,
            // the one Linux sends for a GRO train. Out-of-order data and FINs are not deferred: each
            // duplicate ACK counts for the guest's fast retransmit (RFC 5681 §3.2).
            bool inOrder = payload.Length > 0 && !seg.Has(TcpFlags.Fin) && SequenceNumbers.Distance(seq, _rcvNxt) == payload.Length;
            if (inOrder && payload.Length < _guestMss && !_ackPending)
            {
                _ackPending = true;
                _engine.AckLater(this);
            }
            else if (!inOrder || !AckAtBurstEnd()) SendAck();
        }
        if (_guestFin && _finSent && _sndUna == _sndNxt) Close(reset: false);
    }

    /// <summary>Leaves the ACK for the end of this thread's receive burst; false when the thread is in
    /// none (the caller acknowledges now). Queued once per burst; whatever we send meanwhile carries
    /// the ACK and clears <see cref="_ackPending"/>.</summary>
    private bool AckAtBurstEnd()
    {
        // Never more than MaxDeferredAck unacknowledged: the guest stops at the window we advertised
        // and must not sit idle while we read the rest of its burst. RFC 5681 §4.2 asks for an ACK every
        // second full-sized segment; a guest's TSO job is already many, and Linux's GRO acknowledges one
        // per merged 64 KiB, so this allows about two jobs per ACK.
        if (SequenceNumbers.Distance(_ackSent, _rcvNxt) >= MaxDeferredAck) return false;
        if (_burstAck) { _ackPending = true; return true; }
        if (!ReceiveBurst.TryDefer(this)) return false;
        _burstAck = true;
        _ackPending = true;
        return true;
    }

    /// <summary>The receive burst that deferred our ACK ended: sends it unless something carried it.</summary>
    void IBurstWork.OnBurstEnd()
    {
        lock (_lock)
        {
            _burstAck = false;
            if (_ackPending && _state == State.Established) SendAck();
            _ackPending = false;
        }
    }

    /// <summary>RFC 9293 §3.10.7.4 (SEG.ACK processing). Returns whether bytes were freed.</summary>
    private bool ProcessAck(in TcpSegment seg)
    {
        uint ack = seg.AcknowledgmentNumber;
        int window = _scaling ? seg.Window << _guestScale : seg.Window;
        bool freed = false;
        if (SequenceNumbers.AcknowledgesNew(ack, _sndUna, _sndNxt))
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
            CountFromGuest(sent);
        }
        if (sent == data.Length) return sent;
        int queued = _toHost.Write(data[sent..]);
        StartWrite();
        return sent + queued;
    }

    /// <summary>Keeps the guest's bytes from the host until the egress check releases them (a hello or
    /// request head once it is complete and allowed, body bytes as they come): released bytes go out as
    /// queued; on deny the guest gets a RST and the host peer one too. Held bytes are the queue's last
    /// <see cref="_held"/>, examined in place (copied only when they wrap around the ring's end).</summary>
    private int HoldForInspection(ReadOnlySpan<byte> data)
    {
        int queued = _toHost.Write(data);
        _held += queued;
        while (_held > 0)
        {
            var held = _toHost.RunAt(_toHost.Count - _held);
            byte[]? copy = null;
            int wanted = Math.Min(_held, HttpRequestHead.MaxHeadLength);
            if (held.Length < wanted)
            {
                // A head that wraps: the parsers want it in one piece (rare: only behind unsent bytes).
                copy = ArrayPool<byte>.Shared.Rent(wanted);
                _toHost.CopyTo(_toHost.Count - _held, copy.AsSpan(0, wanted));
                held = copy.AsSpan(0, wanted);
            }
            var outcome = _inspection!.Examine(_guestMac, held, Now, out int release);
            if (copy is not null) ArrayPool<byte>.Shared.Return(copy);
            if (outcome == ServerNameInspection.Outcome.Denied)
            {
                _inspection = null;
                _held -= release;
                RefuseHeld();
                return 0;
            }
            if (outcome == ServerNameInspection.Outcome.Allowed)
            {
                _inspection = null;
                _held = 0;
                break;
            }
            _held -= release;
            if (release == 0) break;   // the rest waits for more bytes
        }
        StartWrite();
        return queued;
    }

    /// <summary>The egress check refused what is held: the guest gets a RST. Requests released before the
    /// refused one (a pipelined allowed request) still reach the server, followed by a FIN: a RST would drop
    /// them from the socket's send buffer. With nothing released the host peer gets a RST too.</summary>
    private void RefuseHeld()
    {
        bool released = _toHost.Count > _held;
        StartWrite();
        if (!released || _state != State.Established) { ResetGuest(); return; }
        _engine.SendTcp(new TcpReply(Key, _guestMac, _sndNxt, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack, 0, ipId: _ipId++));
        Close(reset: false);
    }

    /// <summary>The host spoke before the guest sent anything: a server-first protocol (SSH, SMTP),
    /// with no name to read. The address was vetted when the flow opened.</summary>
    private void EndInspectionIfServerFirst()
    {
        if (_inspection is { Started: false } && _toHost.Count == 0) _inspection = null;
    }
}
