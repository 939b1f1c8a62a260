using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Switchyard.Testing;

/// <summary>
/// A tiny HTTP server on the host's 127.0.0.1 and a free port (in this process: nothing to kill), answering every
/// request with 200 and <see cref="Body"/>, a token unique to the instance, then closing. What "host loopback" tests
/// reach through the gateway's address. Counts the connections it accepted.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _accepted;

    private LoopbackHttpServer(bool ipv6)
    {
        Body = $"host loopback {Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}\n";
        _listener = new Socket(ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
        _listener.Listen(512);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = Task.Run(AcceptLoop);
    }

    public int Port { get; }
    public string Body { get; }
    public int Accepted => Volatile.Read(ref _accepted);

    public static LoopbackHttpServer Start() => new(false);

    /// <summary>The same on the host's ::1 (what an IPv6 network's gateway address reaches).</summary>
    public static LoopbackHttpServer StartIpv6() => new(true);

    private async Task AcceptLoop()
    {
        var response = Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {Body.Length}\r\nConnection: close\r\n\r\n{Body}");
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            Interlocked.Increment(ref _accepted);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                        timeout.CancelAfter(TimeSpan.FromSeconds(10));
                        var buffer = new byte[4096];
                        var request = new StringBuilder();
                        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                        {
                            int n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                            if (n == 0) return;
                            request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                        }
                        await client.SendAsync(response, SocketFlags.None, timeout.Token);
                        client.Shutdown(SocketShutdown.Send);
                    }
                    catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
                }
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { _accepting.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
