using System.Net;
using System.Net.Sockets;
using Switchyard.Packets;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Tests.Infrastructure;

/// <summary>A tiny DNS server on 127.0.0.1 for forwarder tests: counts queries and answers each
/// with A records (or an error, or not at all).</summary>
internal sealed class UdpDnsResponder : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _queries;

    public UdpDnsResponder(bool silent = false)
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        Silent = silent;
        _loop = Task.Run(Loop);
    }

    public IPEndPoint EndPoint { get; }
    public bool Silent { get; }
    public int Queries => Volatile.Read(ref _queries);
    public DnsResponseCode ResponseCode { get; set; } = DnsResponseCode.NoError;
    public uint Ttl { get; set; } = 300;
    public Ipv4Address Address { get; set; } = Ipv4Address.Parse("192.0.2.7");
    public ushort LastId { get; private set; }
    /// <summary>When set, each answer waits for it (a test moves a fake clock meanwhile).</summary>
    public Task? HoldAnswers { get; set; }

    private async Task Loop()
    {
        var buffer = new byte[4096];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            Interlocked.Increment(ref _queries);
            if (Silent) continue;
            if (HoldAnswers is { } hold) await hold;
            var query = buffer.AsSpan(0, r.ReceivedBytes);
            LastId = DnsMessage.ReadId(query);
            var answer = ResponseCode == DnsResponseCode.NoError
                ? DnsTestMessages.Answer(query, ResponseCode, Ttl, Address)
                : DnsTestMessages.Answer(query, ResponseCode, Ttl);
            try { await _socket.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint); }
            catch (Exception e) when (e is ObjectDisposedException or SocketException) { return; }
        }
    }

    /// <summary>A loopback UDP port with nothing bound to it (bound, then released).</summary>
    public static IPEndPoint ClosedPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)s.LocalEndPoint!;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
