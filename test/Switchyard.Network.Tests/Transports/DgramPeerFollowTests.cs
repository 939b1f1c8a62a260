using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;
using Switchyard.Testing;

namespace Switchyard.Network.Tests.Transports;

/// <summary>Issue 16, finding 8c: a learnt dgram peer follows a VM process that comes back on a
/// new socket path, as vfkit does (it binds vfkit-PID-RAND.sock next to ours, connects it to our
/// path and says "VFKT"), and only once the old socket is gone. Played with raw sockets.</summary>
public sealed class DgramPeerFollowTests : IDisposable
{
    private static readonly byte[] Frame = new byte[60];
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-follow-").FullName;
    private readonly FakeTimeProvider _clock = new();
    private readonly CapturingLogger _log = new();
    private readonly List<IDisposable> _owned = [];
    private int _frames;

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Ours => Path.Combine(_dir, "yard.sock");

    private DgramTransport Listen()
    {
        var t = DgramTransport.Listen(Ours, peer: null, 1514, _log, _clock);
        _owned.Add(t);
        t.Start((_, in _) => Interlocked.Increment(ref _frames));
        return t;
    }

    /// <summary>A vfkit stand-in: its own socket at <paramref name="name"/>, connected to ours, "VFKT" first.</summary>
    private Socket Vfkit(string name)
    {
        var s = UnixSockets.Bind(Path.Combine(_dir, name), SocketType.Dgram);
        _owned.Add(s);
        s.Connect(new UnixDomainSocketEndPoint(Ours)); // EPERM here if ours were still connected to a dead peer
        s.Send("VFKT"u8);
        s.ReceiveTimeout = 5_000;
        return s;
    }

    /// <summary>Waits until the transport's peer is the socket <paramref name="name"/> (learnt from its hello).</summary>
    private static async Task PeerBecomes(DgramTransport t, string name)
    {
        for (int i = 0; i < 400 && t.Status.Peer?.EndsWith("/" + name, StringComparison.Ordinal) != true; i++) await Task.Delay(10);
        Assert.EndsWith("/" + name, t.Status.Peer);
    }

    private async Task FramesReach(int count)
    {
        for (int i = 0; i < 400 && Volatile.Read(ref _frames) < count; i++) await Task.Delay(10);
        Assert.Equal(count, Volatile.Read(ref _frames));
    }

    private static bool Send(DgramTransport t) => t.TrySend(Frame, VirtioNetHeader.None);

    private static bool Receives(Socket s)
    {
        s.ReceiveTimeout = 2_000;
        try { return s.Receive(new byte[2048]) == Frame.Length; }
        catch (SocketException) { return false; }
    }

    [Fact]
    public async Task A_vm_that_restarts_on_a_new_path_is_followed_without_a_send_in_between()
    {
        var t = Listen();
        var first = Vfkit("vfkit-1.sock");
        await PeerBecomes(t, "vfkit-1.sock");
        Assert.True(Send(t));
        Assert.True(Receives(first));

        // vfkit exits (its socket closed and removed) and starts again on another path, while the
        // daemon had nothing to send: the new one can connect, and it is the peer from its first datagram.
        first.Dispose();
        File.Delete(Path.Combine(_dir, "vfkit-1.sock"));
        var second = Vfkit("vfkit-2.sock");
        await PeerBecomes(t, "vfkit-2.sock");
        Assert.True(Send(t));
        Assert.True(Receives(second));
        Assert.Equal("connected", t.Status.State);
        Assert.Equal(0, Volatile.Read(ref _frames)); // the hellos are no frames
        Assert.Contains(_log.Lines, l => l.Id.Id == LogEvents.DgramPeerFollowed && l.Text.Contains("vfkit-2.sock", StringComparison.Ordinal));
    }

    /// <summary>Killed with SIGKILL: the old socket file stays, no socket bound to it.</summary>
    [Fact]
    public async Task A_vm_killed_on_a_stale_path_is_followed_after_a_failed_send()
    {
        var t = Listen();
        var first = Vfkit("vfkit-1.sock");
        await PeerBecomes(t, "vfkit-1.sock");
        first.Dispose();
        UnixSockets.CreateStale(Path.Combine(_dir, "vfkit-1.sock"));
        Assert.False(Send(t)); // ECONNREFUSED: the peer is gone
        Assert.Equal("waiting-for-peer", t.Status.State);

        var second = Vfkit("vfkit-2.sock");
        await PeerBecomes(t, "vfkit-2.sock");
        Assert.True(Send(t));
        Assert.True(Receives(second));
    }

    /// <summary>While the peer is bound, another process cannot take the VM's port over: its
    /// datagrams are dropped (and logged, rate-limited) and frames keep going to the VM.</summary>
    [Fact]
    public async Task A_stranger_is_ignored_while_the_peer_is_bound()
    {
        var t = Listen();
        var vm = Vfkit("vm.sock");
        await PeerBecomes(t, "vm.sock");
        var stranger = UnixSockets.Bind(Path.Combine(_dir, "stranger.sock"), SocketType.Dgram);
        _owned.Add(stranger);
        for (int i = 0; i < 50; i++) stranger.SendTo(Frame, new UnixDomainSocketEndPoint(Ours));
        vm.Send(Frame); // after the stranger's: once it arrives, theirs have been handled
        await FramesReach(1);
        Assert.Equal(50, t.Status.ForeignDatagrams);

        Assert.True(Send(t));
        Assert.True(Receives(vm));
        stranger.ReceiveTimeout = 200;
        Assert.Throws<SocketException>(() => stranger.Receive(new byte[2048]));
        var ignored = _log.Lines.Count(l => l.Id.Id == LogEvents.DgramPeerIgnored);
        Assert.InRange(ignored, 1, Switchyard.Network.Telemetry.LogRateLimit.DefaultBurst);
    }

    /// <summary>vfkit's hello is consumed, logged once and never reaches the switch; the frames
    /// after it do, and the hello from a given peer is consumed too.</summary>
    [Fact]
    public async Task The_vfkit_hello_is_not_a_frame()
    {
        var t = Listen();
        var vm = Vfkit("vfkit-9.sock");
        await PeerBecomes(t, "vfkit-9.sock");
        vm.Send(Frame);
        vm.Send(Frame);
        await FramesReach(2);
        Assert.Equal(0, t.Status.ProtocolErrors);
        Assert.Contains(_log.Lines, l => l.Id.Id == LogEvents.VfkitHandshake && l.Text.Contains("vfkit-9.sock", StringComparison.Ordinal));
    }

    /// <summary>A given --dgram-peer is fixed: the rule applies to learnt peers only, and the
    /// kernel keeps refusing other senders once the socket is connected to the given path.</summary>
    [Fact]
    public void A_given_peer_is_not_replaced()
    {
        var qemu = UnixSockets.Bind(Path.Combine(_dir, "qemu.sock"), SocketType.Dgram);
        _owned.Add(qemu);
        var t = DgramTransport.Listen(Ours, Path.Combine(_dir, "qemu.sock"), 1514, _log, _clock);
        _owned.Add(t);
        Assert.True(Send(t));
        Assert.True(Receives(qemu));
        var stranger = UnixSockets.Bind(Path.Combine(_dir, "stranger.sock"), SocketType.Dgram);
        _owned.Add(stranger);
        Assert.Throws<SocketException>(() => stranger.Connect(new UnixDomainSocketEndPoint(Ours)));
    }
}
