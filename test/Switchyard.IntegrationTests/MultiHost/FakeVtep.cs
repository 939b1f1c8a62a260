using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.IntegrationTests;

/// <summary>
/// A VTEP the test plays itself: a UDP socket on an address of the underlay (port 4789) that records
/// every datagram it receives (a third peer counting what the hosts replicate to it) and sends
/// datagrams it builds by hand (RFC 7348 section 5, written here byte by byte rather than with the
/// code under test, so a shared mistake cannot hide), well-formed or not.
/// </summary>
internal sealed class FakeVtep : IDisposable
{
    /// <summary>One datagram received: its VNI (-1 when not a well-formed VXLAN header) and the inner
    /// frame's destination and source MACs (lowercase aa:bb:..., empty when too short).</summary>
    public sealed record Datagram(int Vni, string Destination, string Source, int Length);

    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Datagram> _received = [];
    private readonly Task _loop;

    public FakeVtep(string address, int port = 4789)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Parse(address), port));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = ReceiveLoop();
    }

    public IPEndPoint EndPoint { get; }

    public IReadOnlyList<Datagram> Received { get { lock (_received) return [.. _received]; } }

    private async Task ReceiveLoop()
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            var d = buffer.AsSpan(0, r.ReceivedBytes);
            int vni = d.Length >= 8 && d[0] == 0x08 ? (int)(BinaryPrimitives.ReadUInt32BigEndian(d[4..]) >> 8) : -1;
            string dst = d.Length >= 14 ? Mac(d.Slice(8, 6)) : "", src = d.Length >= 20 ? Mac(d.Slice(14, 6)) : "";
            lock (_received) _received.Add(new Datagram(vni, dst, src, d.Length));
        }
    }

    public void Send(IPEndPoint to, byte[] datagram) => _socket.SendTo(datagram, to);

    /// <summary>An RFC 7348 section 5 header (8 bytes: flags, 24 reserved bits, the 24-bit VNI, 8 reserved bits) and
    /// <paramref name="inner"/>. <paramref name="flags"/> 0x08 is the I flag alone, what a well-formed header carries.</summary>
    public static byte[] Vxlan(int vni, byte[] inner, byte flags = 0x08)
    {
        var d = new byte[8 + inner.Length];
        d[0] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), (uint)vni << 8);
        inner.CopyTo(d, 8);
        return d;
    }

    /// <summary>An Ethernet frame of <paramref name="length"/> bytes to <paramref name="destination"/> from
    /// <paramref name="source"/>, EtherType 0x88B5 (IEEE 802 local experimental: nothing on a guest answers it).</summary>
    public static byte[] Frame(string destination, string source, int length = 60)
    {
        var f = new byte[length];
        ParseMac(destination).CopyTo(f, 0);
        ParseMac(source).CopyTo(f, 6);
        f[12] = 0x88; f[13] = 0xB5;
        return f;
    }

    /// <summary>A random locally administered unicast MAC (02:...).</summary>
    public static string RandomMac()
    {
        var b = new byte[6];
        Random.Shared.NextBytes(b);
        b[0] = 0x02;
        return Mac(b);
    }

    private static string Mac(ReadOnlySpan<byte> b) => string.Join(':', b.ToArray().Select(x => x.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    private static byte[] ParseMac(string mac) => [.. mac.Split(':').Select(x => Convert.ToByte(x, 16))];

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
