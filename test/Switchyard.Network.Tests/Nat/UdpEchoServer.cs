using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Network.Tests.Nat;

/// <summary>A UDP server on <paramref name="address"/> (default 127.0.0.1) that answers every
/// datagram with <see cref="Reply"/>(datagram) and records who sent what.</summary>
internal sealed class UdpEchoServer : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Thread _thread;
    private volatile bool _stopping;

    public UdpEchoServer(IPAddress? address = null, int port = 0)
    {
        _socket.Bind(new IPEndPoint(address ?? IPAddress.Loopback, port));
        Port = (ushort)((IPEndPoint)_socket.LocalEndPoint!).Port;
        _thread = new Thread(Run) { IsBackground = true, Name = "udp-echo" };
        _thread.Start();
    }

    public ushort Port { get; }
    public Func<byte[], byte[]> Reply { get; set; } = d => d;
    public ConcurrentQueue<(IPEndPoint From, byte[] Data)> Received { get; } = new();

    private void Run()
    {
        var buffer = new byte[65536];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        while (!_stopping)
        {
            int n;
            try { n = _socket.ReceiveFrom(buffer, ref from); }
            catch (SocketException) { continue; }   // ECONNREFUSED from an earlier reply to a closed port
            catch (ObjectDisposedException) { return; }
            var data = buffer.AsSpan(0, n).ToArray();
            Received.Enqueue(((IPEndPoint)from, data));
            try { _socket.SendTo(Reply(data), from); }
            catch (SocketException) { }
            catch (ObjectDisposedException) { return; }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _socket.Dispose();
        _thread.Join(TimeSpan.FromSeconds(5));
    }
}
