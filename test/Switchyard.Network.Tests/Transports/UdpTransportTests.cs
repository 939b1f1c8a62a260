using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Transports;

/// <summary>The UDP transport against raw UDP sockets standing in for QEMU: a frame per datagram,
/// the peer given or learnt, every other sender dropped and counted.</summary>
public sealed class UdpTransportTests : IDisposable
{
    private static readonly byte[] Frame = MakeFrame(60);
    private readonly FakeTimeProvider _clock = new();
    private readonly CapturingLogger _log = new();
    private readonly List<IDisposable> _owned = [];
    private int _frames;

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }

    private static byte[] MakeFrame(int length)
    {
        var f = new byte[length];
        f[0] = 0xff; // broadcast destination, as a DHCP discover would be
        return f;
    }

    private UdpTransport Listen(IPAddress address, IPEndPoint? peer = null)
    {
        var t = UdpTransport.Listen(new IPEndPoint(address, 0), peer, 1514, _log, _clock);
        _owned.Add(t);
        t.Start((_, in _) => Interlocked.Increment(ref _frames));
        return t;
    }

    private Socket Vm(IPAddress address)
    {
        var s = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _owned.Add(s);
        s.Bind(new IPEndPoint(address, 0));
        s.ReceiveTimeout = 5_000;
        return s;
    }

    private async Task FramesReach(int count)
    {
        for (int i = 0; i < 400 && Volatile.Read(ref _frames) < count; i++) await Task.Delay(10);
        Assert.Equal(count, Volatile.Read(ref _frames));
    }

    private static bool Receives(Socket s, int length = 60)
    {
        s.ReceiveTimeout = 2_000;
        try { return s.Receive(new byte[2048]) == length; }
        catch (SocketException) { return false; }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task The_first_sender_becomes_the_peer_and_strangers_are_dropped_and_counted(string address)
    {
        var ip = IPAddress.Parse(address);
        var t = Listen(ip);
        Assert.Equal("waiting-for-peer", t.Status.State);
        Assert.False(t.TrySend(Frame, VirtioNetHeader.None)); // nobody to send to yet

        var vm = Vm(ip);
        vm.SendTo(Frame, t.Local);
        await FramesReach(1);
        Assert.Equal("connected", t.Status.State);
        Assert.Equal(vm.LocalEndPoint!.ToString(), t.Status.Peer);
        Assert.True(t.TrySend(Frame, VirtioNetHeader.None));
        Assert.True(Receives(vm));

        var stranger = Vm(ip);
        for (int i = 0; i < 20; i++) stranger.SendTo(Frame, t.Local);
        vm.SendTo(Frame, t.Local); // after the stranger's: once it arrives, theirs have been handled
        await FramesReach(2);
        Assert.Equal(20, t.Status.ForeignDatagrams);
        Assert.True(t.TrySend(Frame, VirtioNetHeader.None));
        Assert.True(Receives(vm));
        stranger.ReceiveTimeout = 200;
        Assert.Throws<SocketException>(() => stranger.Receive(new byte[2048]));
        Assert.InRange(_log.Lines.Count(l => l.Id.Id == LogEvents.UdpPeerIgnored), 1, Switchyard.Network.Telemetry.LogRateLimit.DefaultBurst);
        Assert.Single(_log.Lines, l => l.Id.Id == LogEvents.UdpPeerLearnt);
    }

    /// <summary>A given peer gets frames before it has said anything (QEMU may start after the
    /// endpoint), and nobody else's datagrams are frames, even before the peer's first.</summary>
    [Fact]
    public async Task A_given_peer_is_sent_to_at_once_and_is_the_only_sender_heard()
    {
        var vm = Vm(IPAddress.Loopback);
        var t = Listen(IPAddress.Loopback, (IPEndPoint)vm.LocalEndPoint!);
        Assert.Equal(vm.LocalEndPoint!.ToString(), t.Status.Peer);
        Assert.True(t.TrySend(Frame, VirtioNetHeader.None));
        Assert.True(Receives(vm));

        var stranger = Vm(IPAddress.Loopback);
        stranger.SendTo(Frame, t.Local);
        stranger.SendTo(Frame, t.Local);
        vm.SendTo(Frame, t.Local);
        await FramesReach(1);
        Assert.Equal(2, t.Status.ForeignDatagrams);
        Assert.Equal("connected", t.Status.State);
    }

    [Fact]
    public async Task A_datagram_larger_than_a_frame_is_a_protocol_error()
    {
        var t = Listen(IPAddress.Loopback);
        var vm = Vm(IPAddress.Loopback);
        vm.SendTo(new byte[4000], t.Local);
        vm.SendTo(Frame, t.Local);
        await FramesReach(1);
        Assert.Equal(1, t.Status.ProtocolErrors);
        Assert.Contains("4000", t.Status.LastError);
    }

    [Fact]
    public void A_port_in_use_fails_at_once()
    {
        var first = Listen(IPAddress.Loopback);
        Assert.Throws<SocketException>(() => UdpTransport.Listen(first.Local, null, 1514, _log, _clock));
    }

    [Fact]
    public void A_peer_of_the_other_family_is_refused()
    {
        Assert.Throws<ArgumentException>(() => UdpTransport.Listen(new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.IPv6Loopback, 5000), 1514, _log, _clock));
    }
}
