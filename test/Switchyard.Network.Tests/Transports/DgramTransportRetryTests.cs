using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Transports;

/// <summary>A datagram transport whose peer's socket is not there tries to connect again only
/// after <see cref="DgramTransport.RetryAfter"/>, on its clock: here a fake one, so the window is
/// exact and a loaded machine cannot stretch it.</summary>
public sealed class DgramTransportRetryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-dgram-").FullName;
    private readonly FakeTimeProvider _clock = new();
    private readonly List<IDisposable> _owned = [];
    private static readonly byte[] Frame = new byte[60];

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string PeerPath => Path.Combine(_dir, "vm.sock");

    private DgramTransport Listen()
    {
        var t = DgramTransport.Listen(Path.Combine(_dir, "yard.sock"), PeerPath, 1514, NullLogger.Instance, _clock);
        _owned.Add(t);
        return t;
    }

    private Socket BindPeer()
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(PeerPath));
        _owned.Add(s);
        return s;
    }

    private static bool Send(DgramTransport t) => t.TrySend(Frame, VirtioNetHeader.None);

    /// <summary>The peer appears just after a failed attempt: nothing reaches it until the window
    /// has passed, then the next frame connects and is delivered.</summary>
    [Fact]
    public void A_missing_peer_is_tried_again_only_after_the_window()
    {
        var t = Listen();
        Assert.False(Send(t)); // ENOENT: the window starts
        var peer = BindPeer();

        _clock.Advance(DgramTransport.RetryAfter - TimeSpan.FromMilliseconds(1));
        Assert.False(Send(t)); // not tried: still in the window
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(Send(t));
        Assert.Equal("connected", t.Status.State);
        peer.ReceiveTimeout = 10_000; // the frame is already queued; the bound is only against a hang
        Assert.Equal(Frame.Length, peer.Receive(new byte[2048]));
    }

    /// <summary>A connected peer that goes away (its socket closed, then bound again at the same
    /// path) is reconnected only after the window, counted from the failed send.</summary>
    [Fact]
    public void A_peer_that_went_away_is_reconnected_after_the_window()
    {
        var t = Listen();
        var first = BindPeer();
        Assert.True(Send(t));
        first.Dispose();
        File.Delete(PeerPath);

        Assert.False(Send(t)); // ECONNREFUSED: the window starts
        Assert.Equal("waiting-for-peer", t.Status.State);
        var second = BindPeer();
        _clock.Advance(DgramTransport.RetryAfter - TimeSpan.FromMilliseconds(1));
        Assert.False(Send(t));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(Send(t));
        second.ReceiveTimeout = 10_000;
        Assert.Equal(Frame.Length, second.Receive(new byte[2048]));
    }
}
