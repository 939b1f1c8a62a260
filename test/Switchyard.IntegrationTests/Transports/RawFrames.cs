using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>Hand-made frames for tests that play the VM themselves on a raw socket.</summary>
internal static class RawFrames
{
    public static byte[] Mac(string text) => Convert.FromHexString(text.Replace(":", "", StringComparison.Ordinal));

    public static string RandomMac()
    {
        var b = System.Security.Cryptography.RandomNumberGenerator.GetBytes(6);
        b[0] = (byte)((b[0] & 0xFC) | 0x02); // locally administered unicast
        return string.Join(':', b.Select(x => x.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>A broadcast ARP request from (<paramref name="mac"/>, <paramref name="ip"/>) for <paramref name="target"/>, padded to 60 bytes.</summary>
    public static byte[] ArpRequest(string mac, string ip, string target)
    {
        var f = new byte[60];
        var m = Mac(mac);
        f.AsSpan(0, 6).Fill(0xFF);
        m.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);      // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 0x0800); // IPv4
        f[18] = 6; f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 1);      // request
        m.CopyTo(f, 22);
        IPAddress.Parse(ip).GetAddressBytes().CopyTo(f, 28);
        IPAddress.Parse(target).GetAddressBytes().CopyTo(f, 38);
        return f;
    }

    /// <summary>A broadcast frame of <paramref name="length"/> bytes with the local experimental EtherType 0x88B5.</summary>
    public static byte[] Broadcast(string mac, int length)
    {
        var f = new byte[length];
        f.AsSpan(0, 6).Fill(0xFF);
        Mac(mac).CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x88B5);
        return f;
    }

    public static bool IsArpReplyFrom(ReadOnlySpan<byte> frame, string ip) =>
        frame.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x0806
        && BinaryPrimitives.ReadUInt16BigEndian(frame[20..]) == 2 && frame.Slice(28, 4).SequenceEqual(IPAddress.Parse(ip).GetAddressBytes());

    public static byte[] BigEndian(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    public static async Task<EndpointInfo> WaitForAsync(SwitchyardClient client, string network, string name, Func<EndpointInfo, bool> condition,
        TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Bounds.Generous);
        for (int i = 0; ; i++)
        {
            var ep = await client.GetEndpointAsync(network, name);
            if (condition(ep)) return ep;
            if (DateTime.UtcNow > deadline || i > 1000)
                throw new TimeoutException($"{network}/{name} did not reach the expected state: {ep.Transport}");
            await Task.Delay(50);
        }
    }
}

/// <summary>The VM's end of a stream endpoint: 4-byte big-endian length before each frame.</summary>
internal sealed class StreamPeer : IDisposable
{
    private readonly byte[] _header = new byte[4];

    private StreamPeer(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<StreamPeer> ConnectAsync(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await s.ConnectAsync(new UnixDomainSocketEndPoint(path), cts.Token);
            return new StreamPeer(s);
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    public static StreamPeer FromSocket(Socket s) => new(s);

    public async Task SendFrameAsync(byte[] frame, CancellationToken ct = default)
    {
        await Socket.SendAsync(RawFrames.BigEndian((uint)frame.Length), SocketFlags.None, ct);
        await Socket.SendAsync(frame, SocketFlags.None, ct);
    }

    private async Task<bool> FillAsync(Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            int n = await Socket.ReceiveAsync(buffer, SocketFlags.None, ct);
            if (n == 0) return false;
            buffer = buffer[n..];
        }
        return true;
    }

    /// <summary>The next frame, or null when the daemon closed the connection.</summary>
    public async Task<byte[]?> ReceiveFrameAsync(CancellationToken ct)
    {
        if (!await FillAsync(_header, ct)) return null;
        var frame = new byte[BinaryPrimitives.ReadUInt32BigEndian(_header)];
        return await FillAsync(frame, ct) ? frame : null;
    }

    /// <summary>Sends an ARP request for the gateway and reads frames (skipping others) until its reply; false on timeout or close.</summary>
    public async Task<bool> ArpGatewayAsync(string mac, string ip, string gateway, int timeoutMs = 5_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            await SendFrameAsync(RawFrames.ArpRequest(mac, ip, gateway), cts.Token);
            for (int i = 0; i < 100_000; i++)
            {
                var frame = await ReceiveFrameAsync(cts.Token);
                if (frame is null) return false;
                if (RawFrames.IsArpReplyFrom(frame, gateway)) return true;
            }
        }
        catch (OperationCanceledException) { }
        return false;
    }

    /// <summary>True when the daemon ends the connection (EOF or reset) within the timeout; what it sent before is discarded.</summary>
    public async Task<bool> WaitClosedAsync(int timeoutMs = 5_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        var buffer = new byte[65536];
        try
        {
            for (int i = 0; i < 100_000; i++)
                if (await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0) return true;
        }
        catch (SocketException) { return true; }
        catch (OperationCanceledException) { }
        return false;
    }

    public void Dispose() => Socket.Dispose();
}

/// <summary>Shared setup for the transport tests.</summary>
internal static class Vm
{
    public static string YardDll => Path.Combine(AppContext.BaseDirectory, "yard.dll");

    public static Task<EndpointInfo> AttachAsync(TestDaemon daemon, string network, string name, TransportSpec transport, string? mac = null) =>
        daemon.Client.AttachEndpointAsync(network, new EndpointAttachRequest { Name = name, Mac = mac, Transport = transport });

    public static TransportSpec StreamListen(string path) => new() { Kind = "stream", Listen = path };
    public static TransportSpec StreamConnect(string path) => new() { Kind = "stream", Connect = path };
    public static TransportSpec DgramListen(string path, string? peer = null) => new() { Kind = "dgram", Listen = path, Peer = peer };

    public static string QemuStreamClient(string path) => $"stream,id=s0,server=off,addr.type=unix,addr.path={path}";
    public static string QemuStreamServer(string path) => $"stream,id=s0,server=on,addr.type=unix,addr.path={path}";
    public static string QemuDgram(string local, string remote) =>
        $"dgram,id=s0,local.type=unix,local.path={local},remote.type=unix,remote.path={remote}";
}
