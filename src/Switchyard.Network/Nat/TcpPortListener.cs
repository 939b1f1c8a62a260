using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>Where a published port's guest is right now: its address and MAC (looked up on every
/// new connection, so a guest that got a new lease or MAC is still reached).</summary>
public readonly record struct GuestAddress(Ipv4Address Ip, MacAddress Mac);

/// <summary>One published TCP port: a listening host socket; each accepted client becomes a
/// <see cref="TcpFlow"/> that opens a connection to the guest.</summary>
internal sealed class TcpPortListener : IDisposable
{
    private const int Backlog = 512;
    private readonly NatEngine _engine;
    private readonly Socket _listener;
    private readonly Func<GuestAddress?> _guest;
    private readonly CancellationTokenSource _stop = new();

    private TcpPortListener(NatEngine engine, PublishedPort spec, Socket listener, Func<GuestAddress?> guest)
    {
        _engine = engine;
        Spec = spec;
        _listener = listener;
        _guest = guest;
    }

    public PublishedPort Spec { get; }

    public static TcpPortListener Start(NatEngine engine, PublishedPort spec, Func<GuestAddress?> guest)
    {
        var socket = new Socket(spec.HostAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A restarted daemon must get its ports back while old connections sit in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(spec.HostAddress, spec.HostPort));
            socket.Listen(Backlog);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw spec.BindFailed(e);
        }
        var listener = new TcpPortListener(engine, spec, socket, guest);
        _ = listener.AcceptLoop();
        return listener;
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                // EMFILE and friends: log, breathe, go on; the listener stays.
                NatLog.AcceptFailed(_engine.Logger, Spec.ToString(), e);
                try { await Task.Delay(100, _stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                continue;
            }
            if (_guest() is not { } guest) { Refuse(client); continue; }
            _engine.AcceptInbound(client, (ushort)Spec.GuestPort, guest);
        }
    }

    /// <summary>No guest to take it (detached, no lease yet): the client gets a RST, not a hang.</summary>
    internal static void Refuse(Socket client)
    {
        try { client.LingerState = new LingerOption(true, 0); } catch (SocketException) { }
        client.Dispose();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }
}
