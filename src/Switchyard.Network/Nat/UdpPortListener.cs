using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>One published UDP port: a bound host socket. Each client (address and port) becomes
/// an association toward the guest's port, keyed like a guest flow, so the guest's replies (sent
/// to the client's address, through the gateway) go back out of this socket to that client. The
/// guest sees the client's real address, or the gateway's for loopback and IPv6 clients (as for
/// TCP, <see cref="NatEngine.AcceptInbound"/>). Associations end after a minute without traffic.</summary>
internal sealed class UdpPortListener : IDisposable
{
    private const int MaxDatagram = 65507;
    private readonly NatEngine _engine;
    private readonly Socket _socket;
    private readonly Func<GuestAddress?> _guest;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<FlowKey, Association> _associations = new();

    internal sealed class Association(UdpPortListener listener, EndPoint client, long now)
    {
        public UdpPortListener Listener { get; } = listener;
        public EndPoint Client { get; } = client;
        /// <summary>When a datagram last went either way, in <see cref="NatEngine.NowTicks"/>.</summary>
        public long LastActive = now;
    }

    private UdpPortListener(NatEngine engine, PublishedPort spec, Socket socket, Func<GuestAddress?> guest)
    {
        _engine = engine;
        Spec = spec;
        _socket = socket;
        _guest = guest;
    }

    public PublishedPort Spec { get; }

    public static UdpPortListener Start(NatEngine engine, PublishedPort spec, Func<GuestAddress?> guest)
    {
        var socket = new Socket(spec.HostAddress.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try { socket.Bind(new IPEndPoint(spec.HostAddress, spec.HostPort)); }
        catch (SocketException e)
        {
            socket.Dispose();
            throw spec.BindFailed(e);
        }
        var listener = new UdpPortListener(engine, spec, socket, guest);
        _ = listener.ReceiveLoop();
        return listener;
    }

    private async Task ReceiveLoop()
    {
        var buffer = new byte[MaxDatagram];
        EndPoint any = Spec.HostAddress.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { continue; }   // ICMP errors from an earlier send to a client
            if (_guest() is not { } guest) continue;   // nobody to take it: UDP drops
            var client = (IPEndPoint)r.RemoteEndPoint;
            var key = new FlowKey(guest.Ip, (ushort)Spec.GuestPort, _engine.InboundSource(client.Address), (ushort)client.Port);
            long now = _engine.NowTicks;
            var association = _associations.GetOrAdd(key, static (_, s) => new Association(s.Listener, s.Client, s.Now), (Listener: this, Client: (EndPoint)client, Now: now));
            Volatile.Write(ref association.LastActive, now);
            _engine.AddInboundUdp(key, association);
            _engine.Statistics.CountToGuests(r.ReceivedBytes);
            _engine.SendUdpToGuest(key, guest.Mac, buffer.AsSpan(0, r.ReceivedBytes));
        }
    }

    /// <summary>A guest's reply on an association: out of this socket to the client.</summary>
    public void Send(Association association, ReadOnlySpan<byte> payload)
    {
        Volatile.Write(ref association.LastActive, _engine.NowTicks);
        try { _engine.Statistics.CountFromGuests(_socket.SendTo(payload, SocketFlags.None, association.Client)); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { _engine.CountDrop(Switching.DropReason.TransmitFailed); }
    }

    /// <summary>Ends associations idle longer than <paramref name="idle"/> ticks (engine tick).</summary>
    public void Expire(long now, long idle)
    {
        foreach (var entry in _associations)
            if (now - Volatile.Read(ref entry.Value.LastActive) > idle && _associations.TryRemove(entry))
                _engine.RemoveInboundUdp(entry.Key, entry.Value);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        foreach (var entry in _associations) _engine.RemoveInboundUdp(entry.Key, entry.Value);
        _associations.Clear();
        _engine.RemoveUdpListener(this);
    }
}
