using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>Stream and dgram endpoints through the API: validation, the listening socket's life,
/// persistence across a restart, and the fd handoff's error replies. No root needed.</summary>
public sealed class SocketTransportApiTests : IAsyncLifetime
{
    private const string Net = "sock";
    private readonly ApiDaemon _d = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-sock-").FullName;
    private SwitchyardClient Client => _d.Client;

    public async Task InitializeAsync()
    {
        await _d.StartAsync();
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Net, Subnet = "10.221.0.0/24", DnsUpstreams = ["none"] });
    }

    public async Task DisposeAsync()
    {
        await _d.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<EndpointInfo> Attach(string name, TransportSpec transport, string? mac = null) =>
        Client.AttachEndpointAsync(Net, new EndpointAttachRequest { Name = name, Transport = transport, Mac = mac });

    public static TheoryData<string, TransportSpec> BadSpecs => new()
    {
        { "exactly one", new TransportSpec { Kind = "stream" } },
        { "exactly one", new TransportSpec { Kind = "stream", Listen = "/tmp/a.sock", Connect = "/tmp/b.sock" } },
        { "--dgram-listen", new TransportSpec { Kind = "dgram" } },
        { "tap transport only", new TransportSpec { Kind = "stream", Listen = "/tmp/a.sock", Netns = "x" } },
        { "--dgram-peer", new TransportSpec { Kind = "stream", Listen = "/tmp/a.sock", Peer = "/tmp/p.sock" } },
        { "fd handoff", new TransportSpec { Kind = "fd" } },
        { "too long", new TransportSpec { Kind = "dgram", Listen = "/tmp/" + new string('x', 120) } },
        { "unknown transport", new TransportSpec { Kind = "vsock" } },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task Bad_socket_transports_are_400(string expected, TransportSpec spec)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("bad", spec));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain(await Client.ListEndpointsAsync(Net), x => x.Name == "bad");
    }

    [Fact]
    public async Task A_path_that_is_a_regular_file_is_refused_and_left_alone()
    {
        var file = Path.Combine(_dir, "not-a-socket");
        await File.WriteAllTextAsync(file, "keep me");
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("f", new TransportSpec { Kind = "stream", Listen = file }));
        Assert.Contains("not a socket", e.Message);
        Assert.Equal("keep me", await File.ReadAllTextAsync(file));
    }

    /// <summary>Issue 16, finding 5: a path where another process has a live socket bound is
    /// refused for both kinds of listening endpoint, and that socket keeps working. The old check
    /// connected with a stream socket only, so a datagram socket (or a stream socket not listening
    /// yet) looked stale and was unlinked.</summary>
    [Theory]
    [InlineData("dgram", SocketType.Dgram, false)]
    [InlineData("dgram", SocketType.Stream, false)]
    [InlineData("dgram", SocketType.Stream, true)]
    [InlineData("stream", SocketType.Dgram, false)]
    [InlineData("stream", SocketType.Stream, false)]
    [InlineData("stream", SocketType.Seqpacket, true)]
    public async Task A_live_socket_of_another_process_is_refused_and_keeps_working(string kind, SocketType type, bool listen)
    {
        var path = Path.Combine(_dir, "taken.sock");
        using var other = Switchyard.Testing.UnixSockets.Bind(path, type, listen);
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("taker", new TransportSpec { Kind = kind, Listen = path }));
        Assert.Contains("in use", e.Message);
        Assert.DoesNotContain(await Client.ListEndpointsAsync(Net), x => x.Name == "taker");
        if (type == SocketType.Dgram)
        {
            // The other process still gets its datagrams at that path.
            using var sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            sender.SendTo("still mine"u8, new UnixDomainSocketEndPoint(path));
            other.ReceiveTimeout = 5_000;
            Assert.Equal(10, other.Receive(new byte[64]));
        }
        else
        {
            var expected = listen && type == SocketType.Stream ? Switchyard.Platform.UnixSocketState.Listening : Switchyard.Platform.UnixSocketState.Bound;
            Assert.Equal(expected, Switchyard.Platform.UnixSocketProbe.Probe(path, out _));
        }
    }

    [Theory]
    [InlineData("dgram")]
    [InlineData("stream")]
    public async Task A_stale_socket_file_is_replaced(string kind)
    {
        var path = Path.Combine(_dir, "stale.sock");
        Switchyard.Testing.UnixSockets.CreateStale(path);
        var ep = await Attach("vm", new TransportSpec { Kind = kind, Listen = path });
        Assert.Equal(kind == "dgram" ? "waiting-for-peer" : "listening", ep.Transport.State);
        Assert.NotEqual(Switchyard.Platform.UnixSocketState.Stale, Switchyard.Platform.UnixSocketProbe.Probe(path, out _));
    }

    [Fact]
    public async Task A_stream_listener_is_there_after_attach_and_a_restart_and_gone_after_detach()
    {
        var path = Path.Combine(_dir, "vm.sock");
        var ep = await Attach("vm", new TransportSpec { Kind = "stream", Listen = path });
        Assert.Equal("listening", ep.Transport.State);
        Assert.True(ep.Transport.LearnMac);
        Assert.True(Connects(path));

        await _d.RestartAsync();
        var again = await Client.GetEndpointAsync(Net, "vm");
        Assert.Equal(ep.Ipv4, again.Ipv4);
        Assert.Equal("up", again.State);
        Assert.True(Connects(path));

        await Client.DetachEndpointAsync(Net, "vm");
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task A_dgram_endpoint_with_a_mac_does_not_learn_and_keeps_its_peer()
    {
        var path = Path.Combine(_dir, "d.sock");
        var ep = await Attach("d", new TransportSpec { Kind = "dgram", Listen = path, Peer = Path.Combine(_dir, "peer.sock") }, mac: "52:54:00:00:00:09");
        Assert.False(ep.Transport.LearnMac);
        Assert.Equal("52:54:00:00:00:09", ep.Mac);
        Assert.Equal(Path.Combine(_dir, "peer.sock"), ep.Transport.Peer);
        Assert.True(File.Exists(path));
    }

    private static bool Connects(string path)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { s.Connect(new UnixDomainSocketEndPoint(path)); return true; }
        catch (SocketException) { return false; }
    }

    private async Task<string> Handoff(string line)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(_d.SocketPath));
        await s.SendAsync(Encoding.UTF8.GetBytes(line));
        var buffer = new byte[8192];
        var sb = new StringBuilder();
        int n;
        while ((n = await s.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10))) > 0) sb.Append(Encoding.UTF8.GetString(buffer, 0, n));
        return sb.ToString();
    }

    [Theory]
    [InlineData("{\"handoff\":1,\"network\":\"nowhere\",\"endpoint\":\"vm\"}\n", "\"status\":404")]
    [InlineData("{\"handoff\":1,\"network\":\"sock\",\"endpoint\":\"Bad Name\"}\n", "\"status\":400")]
    [InlineData("{\"handoff\":1,\"network\":\"sock\",\"endpoint\":\"vm\",\"socketType\":\"raw\"}\n", "socketType")]
    [InlineData("{\"handoff\":2,\"network\":\"sock\",\"endpoint\":\"vm\"}\n", "not a handoff")]
    [InlineData("{not json}\n", "invalid handoff JSON")]
    [InlineData("{\"handoff\":1,\"pad\":\"LONG", "at most 4 KiB")]
    public async Task Handoff_errors_are_one_json_line_without_a_descriptor(string request, string expected)
    {
        var reply = await Handoff(request.Replace("LONG", new string('x', 5000)));
        Assert.EndsWith("\n", reply);
        Assert.Contains("\"ok\":false", reply);
        Assert.Contains(expected, reply);
    }

    [Fact]
    public async Task Http_still_works_on_the_same_socket_after_handoffs()
    {
        await Handoff("{\"handoff\":1,\"network\":\"nowhere\",\"endpoint\":\"vm\"}\n");
        Assert.Equal("ok", (await Client.GetHealthAsync()).Status);
    }

    [Fact]
    public async Task A_handoff_gives_a_working_socket_and_a_second_one_replaces_the_first()
    {
        using var first = await Client.AttachFdAsync(Net, "vmfd", stream: true);
        Assert.Equal("fd", first.Endpoint.Transport.Kind);
        Assert.True(first.Fd > 2);
        using var second = await Client.AttachFdAsync(Net, "vmfd");
        Assert.Equal(first.Endpoint.Ipv4, second.Endpoint.Ipv4); // same name, same reservation
        var listed = Assert.Single(await Client.ListEndpointsAsync(Net), e => e.Name == "vmfd");
        Assert.False(listed.Transport.Stream);
    }
}
