using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Gateway;
using Switchyard.Network.Switching;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

/// <summary>
/// What a UDP flow and an ICMP echo flow share: one host socket, <c>connect()</c>ed to the remote
/// so the kernel filters what comes back and reports ICMP errors for it as socket errors; a copy
/// of the guest's last packet's IP header and 8 bytes after it (what an ICMP error quotes); an
/// idle clock; and the wait for readability.
///
/// An idle flow holds no receive buffer: it waits with a one-byte <c>MSG_PEEK</c> receive (a
/// <see cref="SocketAsyncEventArgs"/> re-armed with <see cref="SocketFlags.Peek"/> each time,
/// because a completed receive overwrites its flags; a zero-byte receive would consume and discard
/// a datagram). When it completes, the socket is drained with recv(MSG_DONTWAIT) into the
/// completing thread's <see cref="GuestReplies.Frame"/>, at the offset where the reply frame's
/// payload goes, so a datagram is read once, into the frame it leaves in.
///
/// Threads: guest packets arrive on the guest port's receive thread; completions on the socket
/// engine's thread (the daemon runs them inline) or the thread pool; idle checks on the engine's
/// timer. <see cref="Gate"/> serialises them; the socket is only disposed under it, so a send or
/// receive never meets a closed handle.
/// </summary>
internal abstract class DatagramFlow : IThreadPoolWorkItem
{
    /// <summary>Datagrams one wake-up takes before the rest waits its turn on the thread pool: a
    /// busy remote must not hold the socket engine's thread (completions run inline there) from
    /// every other socket.</summary>
    private const int DrainBudget = 64;
    /// <summary>The most an ICMP error quotes of the guest's packet: a header with options and 8 bytes (RFC 792).</summary>
    private const int MaxQuote = 60 + 8;
    private static readonly byte[] s_peekByte = new byte[1];   // written by every peek; nobody reads it

    private readonly SocketAsyncEventArgs _peek = new();
    private readonly byte[] _quote = new byte[MaxQuote];
    private int _quoteLength;
    private long _lastActive;
    private readonly long _created;
    // Written under the gate (one writer at a time), read by snapshots without it.
    private long _bytesFromGuest, _bytesToGuest;
    private bool _armed, _closed;

    protected readonly NatEngine Engine;
    protected readonly Socket Socket;
    protected readonly object Gate = new();
    protected MacAddress GuestMac;

    protected DatagramFlow(NatEngine engine, FlowKey key, MacAddress guestMac, Socket socket, long idleTimeout)
    {
        Engine = engine;
        Key = key;
        GuestMac = guestMac;
        Socket = socket;
        IdleTimeout = idleTimeout;
        _lastActive = _created = Engine.NowTicks;
        _peek.SetBuffer(s_peekByte, 0, 1);
        _peek.UserToken = this;
        _peek.Completed += static (_, e) => ((DatagramFlow)e.UserToken!).OnPeekCompleted();
    }

    public FlowKey Key { get; }

    /// <summary>The endpoint's share this flow holds a place in (set before it enters its table;
    /// the place is given back when it leaves).</summary>
    internal FlowShare? Share { get; set; }
    /// <summary>Where the socket is connected on the host, and the source address the host's route
    /// gave it when it connected (null when it cannot be read); for the path check.</summary>
    public IPAddress HostRemote { get; private set; } = IPAddress.None;
    public IPAddress? HostLocal { get; private set; }
    /// <summary>When a packet last went either way, in <see cref="NatEngine.NowTicks"/>.</summary>
    public long LastActive => Volatile.Read(ref _lastActive);
    /// <summary>How long the flow lives without a packet either way (ticks).</summary>
    public long IdleTimeout { get; }
    protected bool IsClosed => _closed;
    protected ReadOnlySpan<byte> StoredQuote => _quote.AsSpan(0, _quoteLength);

    /// <summary>Connects <paramref name="socket"/> to <paramref name="remote"/>, as a result rather
    /// than an exception (a guest may send to an unroutable address again and again). The socket is
    /// bound to the wildcard first, which is what connect() would do anyway, so .NET knows it is
    /// bound and <see cref="Socket.LocalEndPoint"/> asks the kernel for the source the route gave it.</summary>
    protected static SocketError Connect(Socket socket, IPEndPoint remote)
    {
        try { socket.Bind(new IPEndPoint(remote.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0)); }
        catch (SocketException e) { return e.SocketErrorCode; }   // no ephemeral port left, say
        int errno = DatagramPeer.TryConnect(socket, remote.Serialize());
        return errno == 0 ? SocketError.Success : NonBlockingSocket.ToSocketError(errno);
    }

    /// <summary>Notes the connected socket's two ends (once, when the flow is made).</summary>
    protected void NotePath(IPAddress remote)
    {
        HostRemote = remote;
        try { HostLocal = (Socket.LocalEndPoint as IPEndPoint)?.Address; }
        catch (SocketException) { HostLocal = null; }
    }

    /// <summary>Starts waiting for replies. Call once, after the flow is in its table.</summary>
    public void Start()
    {
        lock (Gate)
        {
            if (!_closed) Drain();
        }
    }

    /// <summary>Where in the reply frame a datagram is received (a slice of <paramref name="frame"/>).</summary>
    protected abstract Span<byte> ReceiveArea(Span<byte> frame);

    /// <summary>A datagram of <paramref name="length"/> bytes is in <see cref="ReceiveArea"/> of
    /// <paramref name="frame"/>: finish the frame and send it to the guest. Called with the gate held.</summary>
    protected abstract void OnReceived(Span<byte> frame, int length);

    /// <summary>Takes the flow out of the engine's table; called once, after the socket is closed.</summary>
    protected abstract void OnClosed();

    /// <summary>A message of <paramref name="length"/> bytes from the host goes to the guest (what
    /// a raw ICMP socket hears that is not this flow's reply is not counted). Called with the gate held.</summary>
    protected void CountToGuest(int length)
    {
        Volatile.Write(ref _bytesToGuest, _bytesToGuest + length);
        Engine.Statistics.CountToGuests(length);
    }

    protected void Touch() => Volatile.Write(ref _lastActive, Engine.NowTicks);

    /// <summary>Keeps the guest's packet's IP header and 8 bytes after it, for an ICMP error about
    /// a later reply. Called with the gate held.</summary>
    protected void StoreQuote(ReadOnlySpan<byte> quote)
    {
        quote = quote[..Math.Min(quote.Length, _quote.Length)];
        quote.CopyTo(_quote);
        _quoteLength = quote.Length;
    }

    /// <summary>One guest packet's message (UDP payload, ICMP message) onto the socket. A full
    /// socket buffer is a drop (counted, as a router would drop it); an error the kernel reports
    /// (an ICMP error that arrived for an earlier packet) goes back to the guest.</summary>
    protected void SendToHost(ReadOnlySpan<byte> message)
    {
        var r = NonBlockingSocket.Send(Socket, message);
        if (r.Errno == 0 && r.Bytes > 0)
        {
            Volatile.Write(ref _bytesFromGuest, _bytesFromGuest + r.Bytes);
            Engine.Statistics.CountFromGuests(r.Bytes);
        }
        // Any other failure (a message the kernel will not send, EINVAL for an echo with a code)
        // costs this datagram only: the flow and its socket stay.
        if (r.Failed && ReportIcmpError(r.Error, StoredQuote)) return;
        if (r.Errno != 0) Engine.CountDrop(DropReason.TransmitFailed);
    }

    private void OnPeekCompleted()
    {
        lock (Gate)
        {
            _armed = false;
            if (_closed) { _peek.Dispose(); return; }
            if (!IsReadable(_peek.SocketError) && !OnSocketError(_peek.SocketError, StoredQuote)) return;
            Drain();
        }
    }

    // A one-byte peek of a longer datagram may report the truncation; the datagram is there all the same.
    private static bool IsReadable(SocketError error) => error is SocketError.Success or SocketError.MessageSize;

    /// <summary>Receives until the socket is empty, then arms the peek; after
    /// <see cref="DrainBudget"/> datagrams, continues on the thread pool instead. Called with the
    /// gate held.</summary>
    private void Drain()
    {
        for (int budget = DrainBudget; !_closed; budget--)
        {
            if (budget == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                return;
            }
            var frame = GuestReplies.Frame;
            var r = NonBlockingSocket.Receive(Socket, ReceiveArea(frame));
            if (r.WouldBlock)
            {
                if (Arm()) return;
                continue;
            }
            if (r.Failed)
            {
                if (!OnSocketError(r.Error, StoredQuote)) return;
                continue;
            }
            Touch();
            OnReceived(frame, r.Bytes);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        lock (Gate)
        {
            if (!_closed) Drain();
        }
    }

    /// <summary>Arms the readiness peek; false when it completed at once (data or an error is
    /// there: drain again).</summary>
    private bool Arm()
    {
        if (_armed) return true;
        _armed = true;
        _peek.SocketFlags = SocketFlags.Peek;   // a completed receive overwrites it with the flags it got
        bool pending;
        try { pending = Socket.ReceiveAsync(_peek); }
        catch (ObjectDisposedException) { return true; }
        if (pending) return true;
        _armed = false;
        if (IsReadable(_peek.SocketError)) return false;
        return !OnSocketError(_peek.SocketError, StoredQuote);
    }

    /// <summary>An error on the socket. The kernel reports ICMP errors for a connected socket's
    /// packets as errnos (and clears them once reported); the guest gets the ICMP error a router
    /// would have passed on, from the remote, quoting its own packet. Returns false when the flow
    /// ended (the socket is unusable).</summary>
    protected bool OnSocketError(SocketError error, ReadOnlySpan<byte> quote)
    {
        if (ReportIcmpError(error, quote)) return true;
        if (error is SocketError.MessageSize or SocketError.NoBufferSpaceAvailable or SocketError.WouldBlock)
        {
            Engine.CountDrop(DropReason.TransmitFailed);
            return true;
        }
        Close();   // aborted, bad descriptor, anything else: this socket is done
        return false;
    }

    /// <summary>Passes an error that stands for an ICMP error on to the guest; false for other errors.</summary>
    private bool ReportIcmpError(SocketError error, ReadOnlySpan<byte> quote)
    {
        int code = error switch
        {
            SocketError.NetworkUnreachable => 0,
            SocketError.HostUnreachable => 1,
            SocketError.ConnectionRefused => 3,     // port unreachable
            SocketError.AccessDenied => 13,         // administratively prohibited (RFC 1812 §5.2.7.1)
            _ => -1,
        };
        if (code < 0) return false;
        if (quote.Length > 0) Engine.SendUnreachable(GuestMac, Key, (byte)code, quote);
        return true;
    }

    /// <summary>The flow as it is now, read without the gate (a count may be a moment stale).</summary>
    public NatFlowSnapshot Snapshot(NatProtocol protocol, long now) =>
        new(protocol, GuestMac, Key.GuestEndPoint(), Key.RemoteEndPoint(), "open",
            TimeSpan.FromTicks(Math.Max(0, now - _created)), TimeSpan.FromTicks(Math.Max(0, now - LastActive)),
            Volatile.Read(ref _bytesFromGuest), Volatile.Read(ref _bytesToGuest), Published: false);

    /// <summary>Ends the flow: closes the socket and leaves the table. Idempotent.</summary>
    public void Close()
    {
        lock (Gate)
        {
            if (_closed) return;
            _closed = true;
            Socket.Dispose();
            // A pending peek completes (aborted) and disposes the args itself.
            if (!_armed) _peek.Dispose();
        }
        OnClosed();
    }
}
