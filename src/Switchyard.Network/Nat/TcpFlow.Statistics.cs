namespace Switchyard.Network.Nat;

// What a flow tells about itself: payload bytes each way (counted where they meet the host
// socket) and its snapshot for /flows. The counters are written under the flow's lock (one
// writer at a time) and read without it.
internal sealed partial class TcpFlow
{
    private long _bytesFromGuest, _bytesToGuest, _lastData;

    /// <summary>A connection a client made to a published port (we opened the guest's side).</summary>
    public bool Published => _synQuote is null;

    /// <summary><paramref name="n"/> guest bytes went into the host socket. Called under the lock.</summary>
    private void CountFromGuest(int n)
    {
        if (n <= 0) return;
        Volatile.Write(ref _bytesFromGuest, _bytesFromGuest + n);
        Volatile.Write(ref _lastData, Now);
        _engine.Statistics.CountFromGuests(n);
    }

    /// <summary><paramref name="n"/> bytes were read from the host socket for the guest. Called under the lock.</summary>
    private void CountToGuest(int n)
    {
        if (n <= 0) return;
        Volatile.Write(ref _bytesToGuest, _bytesToGuest + n);
        Volatile.Write(ref _lastData, Now);
        _engine.Statistics.CountToGuests(n);
    }

    /// <summary>The flow as it is now, read without the lock (a field may be a moment stale).</summary>
    public NatFlowSnapshot Snapshot(long now)
    {
        long last = Math.Max(Volatile.Read(ref _lastData), Volatile.Read(ref _lastProgress));
        return new NatFlowSnapshot(NatProtocol.Tcp, _guestMac,
            Key.GuestEndPoint(), Key.RemoteEndPoint(),
            StateName(), TimeSpan.FromTicks(Math.Max(0, now - _created)), TimeSpan.FromTicks(Math.Max(0, now - last)),
            Volatile.Read(ref _bytesFromGuest), Volatile.Read(ref _bytesToGuest), Published);
    }

    private string StateName()
    {
        var state = _state;
        bool guestFin = _guestFin, ourFin = _finSent || _hostEof;
        return state switch
        {
            State.Connecting => "connecting",
            State.SynSent => "syn-sent",
            State.SynAckSent => "syn-received",
            State.Established when guestFin && ourFin => "closing",
            State.Established when guestFin || ourFin => "fin-wait",
            State.Established => "established",
            _ => "closed",
        };
    }
}
