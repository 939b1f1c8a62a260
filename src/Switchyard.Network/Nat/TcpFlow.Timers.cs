using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Network.Tcp;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

// The engine's timer: handshake and retransmission timeouts (RFC 6298), zero-window probes and
// the egress inspection's deadline.
internal sealed partial class TcpFlow
{
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
}
