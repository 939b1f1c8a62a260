using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Network.Tcp;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

// Toward the guest: data runs within its window, go-back-N retransmission, ACKs (delayed or
// not), SYN and SYN-ACK. Every segment is built by NatEngine.SendTcp.
internal sealed partial class TcpFlow
{
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
        _ackSent = _rcvNxt;
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
        _ackSent = _rcvNxt;
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
}
