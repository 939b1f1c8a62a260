using System.Net.Sockets;
using Switchyard.Testing;

namespace Switchyard.Platform.Tests;

/// <summary>Each kind of socket file answers the two probes (stream and dgram connect) its own way;
/// only a file with no socket bound to it is stale.</summary>
public sealed class UnixSocketProbeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sy-probe-").FullName;
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Path(string name) => System.IO.Path.Combine(_dir, name);

    private UnixSocketState Probe(string path) => UnixSocketProbe.Probe(path, out _);

    private Socket Own(Socket s)
    {
        _owned.Add(s);
        return s;
    }

    [Fact]
    public void A_missing_path_is_absent() => Assert.Equal(UnixSocketState.Absent, Probe(Path("none")));

    [Fact]
    public void A_file_no_socket_is_bound_to_is_stale()
    {
        UnixSockets.CreateStale(Path("s"));
        Assert.Equal(UnixSocketState.Stale, Probe(Path("s")));
    }

    [Fact]
    public void A_listening_stream_socket_is_live()
    {
        Own(UnixSockets.Bind(Path("s"), SocketType.Stream, listen: true));
        Assert.Equal(UnixSocketState.Listening, Probe(Path("s")));
    }

    [Fact]
    public void A_listener_with_a_full_backlog_is_live_and_the_probe_does_not_wait()
    {
        var listener = Own(UnixSockets.Bind(Path("s"), SocketType.Stream, listen: true));
        // Fill the backlog (listen(1) keeps up to two pending connections on Linux).
        for (int i = 0; i < 8; i++)
        {
            var c = Own(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false });
            try { c.Connect(new UnixDomainSocketEndPoint(Path("s"))); } catch (SocketException) { break; }
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(UnixSocketState.Listening, Probe(Path("s")));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"the probe took {started.Elapsed}");
        GC.KeepAlive(listener);
    }

    /// <summary>Bound, not yet listening: a stream connect is refused just as at a stale file;
    /// only the dgram probe's EPROTOTYPE shows that a socket is there.</summary>
    [Fact]
    public void A_bound_stream_socket_that_does_not_listen_yet_is_live()
    {
        Own(UnixSockets.Bind(Path("s"), SocketType.Stream));
        Assert.Equal(UnixSocketState.Bound, Probe(Path("s")));
    }

    [Fact]
    public void A_bound_datagram_socket_is_live()
    {
        Own(UnixSockets.Bind(Path("s"), SocketType.Dgram));
        Assert.Equal(UnixSocketState.Bound, Probe(Path("s")));
    }

    /// <summary>vfkit's and QEMU's own sockets are connected to their peer: a third party's
    /// connect gets EPERM, which still says a socket is there.</summary>
    [Fact]
    public void A_datagram_socket_connected_to_another_peer_is_live()
    {
        Own(UnixSockets.Bind(Path("peer"), SocketType.Dgram));
        var s = Own(UnixSockets.Bind(Path("s"), SocketType.Dgram));
        s.Connect(new UnixDomainSocketEndPoint(Path("peer")));
        Assert.Equal(UnixSocketState.Bound, Probe(Path("s")));
    }

    [Fact]
    public void A_seqpacket_socket_is_live()
    {
        Own(UnixSockets.Bind(Path("s"), SocketType.Seqpacket, listen: true));
        Assert.Equal(UnixSocketState.Bound, Probe(Path("s")));
    }

    [Fact]
    public void IsBound_follows_the_socket_not_the_file()
    {
        var s = UnixSockets.Bind(Path("s"), SocketType.Dgram);
        var address = new UnixDomainSocketEndPoint(Path("s")).Serialize();
        Assert.True(UnixSocketProbe.IsBound(address));
        s.Dispose(); // .NET unlinks the path: ENOENT
        Assert.False(UnixSocketProbe.IsBound(address));
        UnixSockets.CreateStale(Path("s")); // a file again, no socket: ECONNREFUSED
        Assert.False(UnixSocketProbe.IsBound(address));
    }
}
