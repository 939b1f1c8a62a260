using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Network.Tcp;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

// The host side of a flow: the connect, and the socket pump (async sends of the to-host queue,
// reads while the guest's window has room). Runs on socket completions, under the flow's lock.
internal sealed partial class TcpFlow
{
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
        CountFromGuest(_writeArgs.BytesTransferred);
        // The window grew back by a segment or half the buffer since the guest last heard: tell it,
        // or a guest that stopped at a small window waits for its persist timer (RFC 1122 §4.2.3.3).
        if (_state == State.Established && _toHost.Free - _advertised >= Math.Min(ToHostCapacity / 2, _guestMss)) SendAck();
        return true;
    }

    /// <summary>Drains <see cref="_toHost"/> with async sends, one contiguous run at a time.</summary>
    private void StartWrite()
    {
        while (!_writing && _toHost.Count > _held)
        {
            var run = _toHost.ReadableSegment();   // held bytes (egress) are the queue's last: never sent
            _writeArgs.SetBuffer(run.Array, run.Offset, Math.Min(run.Count, _toHost.Count - _held));
            _writing = true;
            bool pending;
            try { pending = _socket.SendAsync(_writeArgs); }
            catch (ObjectDisposedException) { return; }
            if (pending) return;
            if (!WriteDone()) return;
        }
        if (!_writing && _toHost.Count == 0 && _guestFin) ShutdownHostWrite();
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
        // While the wait's receive is pending it owns the socket: it may already hold the next
        // bytes, so a recv here would queue later bytes before them (and could fill the queue so
        // that its bytes no longer fit). Its completion reads on.
        while (!_hostEof && !_readArmed)
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
            CountToGuest(r.Bytes);
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
        int queued = _toGuest.Write(_readBuffer.AsSpan(0, n));
        CountToGuest(n);
        Debug.Assert(queued == n, "the wait was sized to the queue's free space, and nothing else fills it meanwhile");
        PushToGuest();
        return true;
    }
}
