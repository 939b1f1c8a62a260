using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Switchyard.Testing;

namespace Switchyard.BenchRelay.Tests;

/// <summary>
/// Frames through the relay both ways with a real TAP in a namespace: the test is the transport's far end (as the
/// daemon or passt would be). It sends a burst of ARP requests for the TAP's address in the transport's framing
/// (one write for stream, one datagram each otherwise); the relay writes them to the TAP, the namespace's kernel
/// answers each, and the relay frames the replies back. Every request must come back as a reply: a lost, cut or
/// misframed frame fails the count or the checks.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RelayFrameTests : IDisposable
{
    private const int Burst = 100;
    private static readonly byte[] PeerMac = [0x02, 0x52, 0x4c, 0x00, 0x00, 0x01];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sy-relay-");
    private readonly byte[] _address;
    private readonly byte[] _peerAddress;

    public RelayFrameTests()
    {
        var x = (byte)RandomNumberGenerator.GetInt32(1, 255);
        _address = [10, 239, x, 2];
        _peerAddress = [10, 239, x, 1];
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private RelayOptions Options(TestNamespace ns, params string[] link) => RelayOptions.Parse(
        ["--netns", ns.Path, "--tap", "rly0", "--mtu", "1500", "--address", $"{new IPAddress(_address)}/24", "--batch", "16", .. link]);

    [LinuxRootFact]
    public void Stream_BurstCrossesBothWays()
    {
        using var ns = TestNamespace.Create();
        var path = Path.Combine(_dir.FullName, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var relay = RelayProgram.Build(Options(ns, "--stream-connect", path));
        using var peer = listener.Accept();
        relay.Start();

        // The whole burst in one write: the relay's read takes many frames at once and cuts them in place.
        var burst = new List<byte>();
        var prefix = new byte[4];
        for (var i = 0; i < Burst; i++)
        {
            var request = ArpRequest();
            BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)request.Length);
            burst.AddRange(prefix);
            burst.AddRange(request);
        }
        peer.Send(burst.ToArray());

        var replies = 0;
        var pending = new List<byte>();
        var buffer = new byte[65536];
        peer.ReceiveTimeout = 10_000;
        while (replies < Burst && Receive(peer, buffer) is var n and > 0)
        {
            pending.AddRange(buffer.AsSpan(0, n).ToArray());
            while (pending.Count >= 4 && BinaryPrimitives.ReadUInt32BigEndian(pending.ToArray().AsSpan(0, 4)) is var length
                   && pending.Count >= 4 + length)
            {
                Assert.InRange(length, 14u, 1514u);
                replies += IsReply(pending.GetRange(4, (int)length).ToArray()) ? 1 : 0;
                pending.RemoveRange(0, 4 + (int)length);
            }
        }

        Assert.Equal(Burst, replies);
        Assert.Equal(Burst, Volatile.Read(ref relay.ToTap.Frames));
        Assert.Null(relay.Reason);
    }

    [LinuxRootFact]
    public void Stream_FrameCutAcrossReadsIsKeptForTheNextRead()
    {
        using var ns = TestNamespace.Create();
        var path = Path.Combine(_dir.FullName, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var relay = RelayProgram.Build(Options(ns, "--stream-connect", path));
        using var peer = listener.Accept();
        relay.Start();

        var framed = new List<byte>();
        var prefix = new byte[4];
        for (var i = 0; i < 3; i++)
        {
            var request = ArpRequest();
            BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)request.Length);
            framed.AddRange(prefix);
            framed.AddRange(request);
        }
        var bytes = framed.ToArray();
        // The first frame whole, then the second's prefix and half its body: the relay must hand out one frame and
        // keep the rest; then the remainder completes the second and brings the third.
        var cut = 4 + 42 + 4 + 21;
        peer.Send(bytes.AsSpan(0, cut));
        Eventually.Until(() => Volatile.Read(ref relay.ToTap.Frames) >= 1, TimeSpan.FromSeconds(10), () => "the whole first frame did not reach the TAP");
        Assert.Equal(1, Volatile.Read(ref relay.ToTap.Frames));
        peer.Send(bytes.AsSpan(cut));
        Eventually.Until(() => Volatile.Read(ref relay.ToTap.Frames) >= 3, TimeSpan.FromSeconds(10), () => "the cut frame and the next did not reach the TAP");
        Assert.Null(relay.Reason);
    }

    [LinuxRootFact]
    public void Stream_LengthOverTheMtuEndsTheRelayWithAnError()
    {
        using var ns = TestNamespace.Create();
        var path = Path.Combine(_dir.FullName, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var relay = RelayProgram.Build(Options(ns, "--stream-connect", path));
        using var peer = listener.Accept();
        relay.Start();

        peer.Send([0x00, 0x01, 0x11, 0x70]); // 70,000 bytes: more than MTU 1500 + 14

        Assert.True(relay.Wait(TimeSpan.FromSeconds(10)), "the relay kept running after a bad length");
        Assert.True(relay.Failed);
        Assert.Contains("a frame of 70000 bytes", relay.Reason, StringComparison.Ordinal);
    }

    [LinuxRootFact]
    public void Stream_PeerClosingEndsTheRelayCleanly()
    {
        using var ns = TestNamespace.Create();
        var path = Path.Combine(_dir.FullName, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var relay = RelayProgram.Build(Options(ns, "--stream-connect", path));
        var peer = listener.Accept();
        relay.Start();

        peer.Dispose();

        Assert.True(relay.Wait(TimeSpan.FromSeconds(10)), "the relay kept running after its peer left");
        Assert.False(relay.Failed);
        Assert.Contains("the peer closed the link", relay.Reason, StringComparison.Ordinal);
    }

    [LinuxRootFact]
    public void Dgram_BurstCrossesBothWays()
    {
        using var ns = TestNamespace.Create();
        var path = Path.Combine(_dir.FullName, "d.sock");
        using var peer = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        peer.Bind(new UnixDomainSocketEndPoint(path));
        using var relay = RelayProgram.Build(Options(ns, "--dgram-connect", path));
        peer.Connect(new UnixDomainSocketEndPoint(path + ".relay"));
        relay.Start();

        DatagramBurst(peer, relay);
    }

    [LinuxRootFact]
    public void Udp_BurstCrossesBothWays()
    {
        using var ns = TestNamespace.Create();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.ReceiveBufferSize = 1 << 20;
        var relayPort = FreeUdpPort();
        using var relay = RelayProgram.Build(Options(ns, "--udp-connect", peer.LocalEndPoint!.ToString()!, "--udp-bind", $"127.0.0.1:{relayPort}"));
        peer.Connect(new IPEndPoint(IPAddress.Loopback, relayPort));
        relay.Start();

        DatagramBurst(peer, relay);
    }

    /// <summary>A burst of one frame per datagram out, the replies back one per datagram.</summary>
    private void DatagramBurst(Socket peer, Relay relay)
    {
        for (var i = 0; i < Burst; i++)
        {
            peer.Send(ArpRequest());
        }

        var replies = 0;
        var buffer = new byte[65536];
        peer.ReceiveTimeout = 10_000;
        while (replies < Burst && Receive(peer, buffer) is var n and > 0)
        {
            Assert.InRange(n, 14, 1514);
            replies += IsReply(buffer.AsSpan(0, n).ToArray()) ? 1 : 0;
        }

        Assert.Equal(Burst, replies);
        Assert.Equal(Burst, Volatile.Read(ref relay.ToTap.Frames));
        Assert.Equal(0, relay.LinkReceiveDropped);
        Assert.Null(relay.Reason);
    }

    private static int Receive(Socket socket, byte[] buffer)
    {
        try
        {
            return socket.Receive(buffer);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
        {
            return 0;
        }
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>An ARP request (RFC 826) from the peer for the TAP's address, broadcast.</summary>
    private byte[] ArpRequest()
    {
        var f = new byte[42];
        f.AsSpan(0, 6).Fill(0xff);
        PeerMac.CopyTo(f, 6);
        f[12] = 0x08; f[13] = 0x06;                 // EtherType ARP
        f[15] = 1;                                  // hardware type Ethernet
        f[16] = 0x08;                               // protocol type IPv4
        f[18] = 6; f[19] = 4;                       // address lengths
        f[21] = 1;                                  // op: request
        PeerMac.CopyTo(f, 22);
        _peerAddress.CopyTo(f, 28);
        _address.CopyTo(f, 38);
        return f;
    }

    /// <summary>The kernel's ARP reply to <see cref="ArpRequest"/>: to the peer, "TAP's address is at TAP's MAC".</summary>
    private bool IsReply(byte[] f) =>
        f.Length >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2
        && f.AsSpan(0, 6).SequenceEqual(PeerMac) && f.AsSpan(28, 4).SequenceEqual(_address)
        && f.AsSpan(32, 6).SequenceEqual(PeerMac) && f.AsSpan(38, 4).SequenceEqual(_peerAddress);
}
