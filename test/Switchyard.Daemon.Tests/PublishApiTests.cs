using System.Net;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>Published ports through the API: validation, conflicts, the host socket's life,
/// rollback of an attach, persistence and a port taken while the daemon was down. Endpoints are
/// stream listeners (no root); the host ports are on 127.0.0.1, picked free by the kernel.</summary>
public sealed class PublishApiTests : IAsyncLifetime
{
    private const string Net = "pub";
    private readonly ApiDaemon _d = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-pub-").FullName;
    private SwitchyardClient Client => _d.Client;

    public async Task InitializeAsync()
    {
        await _d.StartAsync();
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Net, Subnet = "10.226.0.0/24", DnsUpstreams = ["none"] });
    }

    public async Task DisposeAsync()
    {
        await _d.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<EndpointInfo> Attach(string name, string network = Net, params string[] publish) =>
        Client.AttachEndpointAsync(network, new EndpointAttachRequest
        {
            Name = name,
            Transport = new TransportSpec { Kind = "stream", Listen = Path.Combine(_dir, $"{network}-{name}.sock") },
            Publish = publish.Length == 0 ? null : publish,
        });

    /// <summary>A TCP port on 127.0.0.1 that nothing listens on right now.</summary>
    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>A listening socket that holds a port (the "someone else's server" of a test).</summary>
    private static Socket Occupy(int port = 0)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, port));
        s.Listen();
        return s;
    }

    private static int PortOf(Socket s) => ((IPEndPoint)s.LocalEndPoint!).Port;

    private static bool Listening(int port)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try { s.Connect(new IPEndPoint(IPAddress.Loopback, port)); return true; }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused) { return false; }
    }

    [Fact]
    public async Task Publish_shows_in_inspect_listens_and_unpublish_closes_it()
    {
        await Attach("web");
        int port = FreePort();
        var info = await Client.PublishAsync(Net, "web", $"{port}:80");
        Assert.Equal([$"127.0.0.1:{port}:80/tcp"], info.Published);
        Assert.Null(info.PublishErrors);
        Assert.True(Listening(port));
        Assert.Equal([$"127.0.0.1:{port}:80/tcp"], (await Client.GetEndpointAsync(Net, "web")).Published);
        Assert.Equal([$"127.0.0.1:{port}:80/tcp"], (await Client.ListEndpointsAsync(Net)).Single(e => e.Name == "web").Published);

        // Any spelling of the same spec unpublishes it.
        await Client.UnpublishAsync(Net, "web", $"127.0.0.1:{port}:80/TCP");
        Assert.Empty((await Client.GetEndpointAsync(Net, "web")).Published!);
        Assert.False(Listening(port));
    }

    [Theory]
    [InlineData("80")]
    [InlineData("a:b")]
    [InlineData("0:80")]
    [InlineData("8080:70000")]
    [InlineData("8080:80/sctp")]
    [InlineData("localhost:8080:80")]
    [InlineData("")]
    public async Task A_bad_spec_is_400_with_the_parsers_message(string spec)
    {
        await Attach("bad");
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Client.PublishAsync(Net, "bad", spec));
        Assert.Contains(spec.Length == 0 ? "empty publish spec" : "publish spec", e.Message);
        Assert.Empty((await Client.GetEndpointAsync(Net, "bad")).Published!);
    }

    [Fact]
    public async Task The_same_host_port_twice_is_409_on_any_endpoint_of_any_network()
    {
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "pub2", Subnet = "10.227.0.0/24", DnsUpstreams = ["none"] });
        await Attach("one");
        await Attach("two");
        await Attach("three", network: "pub2");
        int port = FreePort();
        await Client.PublishAsync(Net, "one", $"{port}:80");

        var same = await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync(Net, "one", $"127.0.0.1:{port}:80/tcp"));
        Assert.Contains("already published", same.Message);
        var other = await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync(Net, "two", $"{port}:81"));
        Assert.Contains($"127.0.0.1:{port}/tcp", other.Message);
        Assert.Contains("'one'", other.Message);
        await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync("pub2", "three", $"{port}:80"));
        // The wildcard address covers 127.0.0.1.
        await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync("pub2", "three", $"0.0.0.0:{port}:80"));
        // In one attach request.
        int port2 = FreePort();
        await Problems.Expect(HttpStatusCode.Conflict, () => Attach("four", Net, $"{port2}:80", $"127.0.0.1:{port2}:90"));
        Assert.DoesNotContain(await Client.ListEndpointsAsync(Net), e => e.Name == "four");

        // The other protocol on the same port is another socket: the directory passes it through,
        // and only the NAT's UDP publishing decides (while it is not there, it refuses with its reason).
        try
        {
            var udp = await Client.PublishAsync(Net, "two", $"{port}:80/udp");
            Assert.Contains($"127.0.0.1:{port}:80/udp", udp.Published!);
        }
        catch (SwitchyardApiException e)
        {
            Assert.Equal(HttpStatusCode.Conflict, e.StatusCode);
            Assert.DoesNotContain("already published", e.Message);
            Assert.Contains("udp", e.Message);
        }
    }

    [Fact]
    public async Task A_host_port_in_use_is_409_with_the_reason()
    {
        await Attach("busy");
        using var holder = Occupy();
        int port = PortOf(holder);
        var e = await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync(Net, "busy", $"{port}:80"));
        Assert.Contains("already in use", e.Message);
        Assert.Contains(port.ToString(), e.Message);
        Assert.Empty((await Client.GetEndpointAsync(Net, "busy")).Published!);

        var notOurs = await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync(Net, "busy", $"192.0.2.1:{FreePort()}:80"));
        Assert.Contains("not an address of this host", notOurs.Message);
    }

    [Fact]
    public async Task Unpublish_of_what_is_not_published_is_404_and_unknown_endpoints_are_404()
    {
        await Attach("quiet");
        var e = await Problems.Expect(HttpStatusCode.NotFound, () => Client.UnpublishAsync(Net, "quiet", $"{FreePort()}:80"));
        Assert.Contains("is not published", e.Message);
        await Problems.Expect(HttpStatusCode.BadRequest, () => Client.UnpublishAsync(Net, "quiet", "nonsense"));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.PublishAsync(Net, "ghost", $"{FreePort()}:80"));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.UnpublishAsync(Net, "ghost", $"{FreePort()}:80"));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.PublishAsync("nowhere", "quiet", $"{FreePort()}:80"));
    }

    [Fact]
    public async Task Raw_routes_take_an_encoded_or_a_plain_spec_and_need_a_body()
    {
        await Attach("raw");
        int port = FreePort();
        await Client.PublishAsync(Net, "raw", $"{port}:80");
        // A plain slash in the path (curl users) is the same spec.
        var plain = await _d.Raw.DeleteAsync($"networks/{Net}/endpoints/raw/published/127.0.0.1:{port}:80/tcp");
        Assert.Equal(HttpStatusCode.NoContent, plain.StatusCode);
        await Client.PublishAsync(Net, "raw", $"{port}:80");
        var encoded = await _d.Raw.DeleteAsync($"networks/{Net}/endpoints/raw/published/{Uri.EscapeDataString($"127.0.0.1:{port}:80/tcp")}");
        Assert.Equal(HttpStatusCode.NoContent, encoded.StatusCode);

        using var empty = new StringContent("", System.Text.Encoding.UTF8, "application/json");
        await Problems.ExpectRaw(HttpStatusCode.BadRequest, await _d.Raw.PostAsync($"networks/{Net}/endpoints/raw/published", empty));
        using var noSpec = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        await Problems.ExpectRaw(HttpStatusCode.BadRequest, await _d.Raw.PostAsync($"networks/{Net}/endpoints/raw/published", noSpec));
    }

    [Fact]
    public async Task Internal_networks_cannot_publish()
    {
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "sealed", Mode = "internal", Subnet = "10.228.0.0/24" });
        await Attach("in", "sealed");
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Client.PublishAsync("sealed", "in", $"{FreePort()}:80"));
        Assert.Contains("internal", e.Message);
        var attach = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("in2", "sealed", $"{FreePort()}:80"));
        Assert.Contains("internal", attach.Message);
        Assert.DoesNotContain(await Client.ListEndpointsAsync("sealed"), x => x.Name == "in2");
    }

    [Fact]
    public async Task Attach_with_publish_listens_and_a_failing_publish_rolls_the_attach_back_whole()
    {
        int a = FreePort(), b = FreePort();
        var ep = await Attach("multi", Net, $"{a}:80", $"127.0.0.1:{b}:443/tcp");
        Assert.Equal([$"127.0.0.1:{a}:80/tcp", $"127.0.0.1:{b}:443/tcp"], ep.Published);
        Assert.True(Listening(a));
        Assert.True(Listening(b));

        // The second port is taken: nothing of the attach stays (endpoint, socket, reservation, first port).
        using var holder = Occupy();
        int c = FreePort();
        var socket = Path.Combine(_dir, $"{Net}-rolled.sock");
        var e = await Problems.Expect(HttpStatusCode.Conflict, () => Attach("rolled", Net, $"{c}:80", $"{PortOf(holder)}:81"));
        Assert.Contains("already in use", e.Message);
        Assert.DoesNotContain(await Client.ListEndpointsAsync(Net), x => x.Name == "rolled");
        Assert.DoesNotContain(await Client.ListLeasesAsync(Net), l => l.Endpoint == "rolled");
        Assert.False(File.Exists(socket));
        Assert.False(Listening(c));
        // And the port is free for a later publish; the name attaches again.
        await Attach("rolled", Net, $"{c}:80");
        Assert.True(Listening(c));

        // Detach closes the endpoint's ports; the same spec can go to another endpoint.
        await Client.DetachEndpointAsync(Net, "multi");
        Assert.False(Listening(a));
        Assert.False(Listening(b));
        await Attach("next", Net, $"{a}:80");
        Assert.True(Listening(a));
    }

    [Fact]
    public async Task Published_ports_survive_a_restart_and_go_with_their_endpoint()
    {
        int a = FreePort(), b = FreePort();
        await Attach("keep", Net, $"{a}:80");
        await Client.PublishAsync(Net, "keep", $"{b}:22");

        await _d.RestartAsync();

        var ep = await Client.GetEndpointAsync(Net, "keep");
        Assert.Equal([$"127.0.0.1:{a}:80/tcp", $"127.0.0.1:{b}:22/tcp"], ep.Published);
        Assert.Null(ep.PublishErrors);
        Assert.True(Listening(a));
        Assert.True(Listening(b));

        // Unpublish and detach persist too.
        await Client.UnpublishAsync(Net, "keep", $"{b}:22");
        await _d.RestartAsync();
        Assert.Equal([$"127.0.0.1:{a}:80/tcp"], (await Client.GetEndpointAsync(Net, "keep")).Published);
        Assert.False(Listening(b));
        await Client.DetachEndpointAsync(Net, "keep");
        await _d.RestartAsync();
        Assert.False(Listening(a));
        var back = await Attach("keep");
        Assert.Empty(back.Published!);
    }

    [Fact]
    public async Task A_port_taken_while_the_daemon_was_down_is_reported_not_fatal_and_publishing_again_retries()
    {
        int a = FreePort(), b = FreePort();
        await Attach("late", Net, $"{a}:80", $"{b}:81");
        await _d.StopAsync();
        var holder = Occupy(a);
        try
        {
            await _d.StartAsync();
            var ep = await Client.GetEndpointAsync(Net, "late");
            Assert.Equal("up", ep.State);
            Assert.Equal([$"127.0.0.1:{a}:80/tcp", $"127.0.0.1:{b}:81/tcp"], ep.Published);
            var error = Assert.Single(ep.PublishErrors!);
            Assert.Equal($"127.0.0.1:{a}:80/tcp", error.Key);
            Assert.Contains("already in use", error.Value);
            Assert.True(Listening(b));
            // Still owned: nobody else may publish it meanwhile.
            await Attach("other");
            await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync(Net, "other", $"{a}:80"));
            // Retrying while it is still taken fails the same way and changes nothing.
            await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishAsync(Net, "late", $"{a}:80"));
        }
        finally { holder.Dispose(); }

        var retried = await Client.PublishAsync(Net, "late", $"{a}:80");
        Assert.Null(retried.PublishErrors);
        Assert.Equal([$"127.0.0.1:{a}:80/tcp", $"127.0.0.1:{b}:81/tcp"], retried.Published);
        Assert.True(Listening(a));
    }

    [Fact]
    public async Task Host_loopback_and_nat_counters_in_network_info_and_across_a_restart()
    {
        var on = await Client.GetNetworkAsync(Net);
        Assert.True(on.HostLoopback);
        Assert.NotNull(on.Nat);
        Assert.Equal(0, on.Nat!.TcpFlows);

        var off = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "noloop", Subnet = "10.229.0.0/24", HostLoopback = false });
        Assert.False(off.HostLoopback);
        Assert.NotNull(off.Nat);
        var host = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "hostmode", Mode = "host", Subnet = "10.230.0.0/24" });
        Assert.True(host.HostLoopback);
        Assert.NotNull(host.Nat);
        var inner = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "inner", Mode = "internal", Subnet = "10.231.0.0/24", HostLoopback = true });
        Assert.False(inner.HostLoopback);
        Assert.Null(inner.Nat);

        await _d.RestartAsync();

        var all = await Client.ListNetworksAsync();
        Assert.True(all.Single(n => n.Name == Net).HostLoopback);
        Assert.False(all.Single(n => n.Name == "noloop").HostLoopback);
        Assert.True(all.Single(n => n.Name == "hostmode").HostLoopback);
        Assert.False(all.Single(n => n.Name == "inner").HostLoopback);
        Assert.Null(all.Single(n => n.Name == "inner").Nat);

        // The JSON names the API promises.
        var json = await _d.Raw.GetStringAsync($"networks/{Net}");
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.True(doc.RootElement.GetProperty("hostLoopback").GetBoolean());
        var nat = doc.RootElement.GetProperty("nat");
        foreach (var name in new[] { "tcpFlows", "udpFlows", "icmpFlows" }) Assert.Equal(0, nat.GetProperty(name).GetInt32());
    }
}
