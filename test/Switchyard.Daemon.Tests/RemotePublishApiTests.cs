using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Daemon.Tests;

/// <summary>POST and DELETE /networks/{net}/published (a host port to a remote guest: a pool lease, no
/// endpoint) over the API socket: the answer's <c>published</c>, each refusal's status and detail, and
/// the port back after a daemon restart. The lease comes from DHCP messages given straight to the live
/// network's server, as a VXLAN tunnel would bring them.</summary>
public sealed class RemotePublishApiTests : IAsyncLifetime
{
    private const string Net = "rpub";
    private static readonly MacAddress Far = MacAddress.Parse("02:98:00:00:00:01");
    private readonly ApiDaemon _d = new();
    private SwitchyardClient Client => _d.Client;

    public async Task InitializeAsync()
    {
        await _d.StartAsync();
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Net, Subnet = "10.227.0.0/24", DhcpRange = "10.227.0.200-10.227.0.210", DnsUpstreams = ["none"] });
    }

    public Task DisposeAsync() => _d.DisposeAsync().AsTask();

    /// <summary>A bound pool lease for <see cref="Far"/> named <paramref name="hostName"/>.</summary>
    private Ipv4Address Lease(string hostName)
    {
        Assert.True(_d.Plane.Registry.TryGet(Net, out var net));
        Ipv4Address offered = default;
        foreach (var type in new[] { DhcpMessageType.Discover, DhcpMessageType.Request })
        {
            var request = new byte[400];
            int n = DhcpClientMessage.WriteRequest(request, type, 9, Far, Ipv4Address.Any, type == DhcpMessageType.Request ? offered : null,
                type == DhcpMessageType.Request ? net.Live.Config.Gateway : null, [1, 3], hostName);
            var reply = new byte[600];
            int len = net.Live.Dhcp.Handle(request.AsSpan(0, n), Far, reply, out _);
            Assert.True(DhcpMessageReader.TryParse(reply.AsSpan(0, len), out var r));
            offered = r.YourAddress;
        }
        return offered;
    }

    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task A_port_published_to_a_remote_guest_is_answered_shown_kept_and_removed()
    {
        var address = Lease("far-box");
        int port = FreePort();
        var info = await Client.PublishToRemoteAsync(Net, "far-box", $"{port}:80");
        var p = Assert.Single(info.Published!);
        Assert.Equal(($"127.0.0.1:{port}:80/tcp", Far.ToString(), "far-box", address.ToString()), (p.Spec, p.Mac, p.HostName, p.Ipv4));
        Assert.Null(p.Error);

        await _d.Plane.Events.FlushAsync();   // the lease is stored (the data plane's writer is asynchronous)
        await _d.RestartAsync();
        var restored = Assert.Single((await Client.GetNetworkAsync(Net)).Published!);
        Assert.Equal(($"127.0.0.1:{port}:80/tcp", Far.ToString(), address.ToString(), (string?)null), (restored.Spec, restored.Mac, restored.Ipv4, restored.Error));

        // The spec in the path, plain or encoded.
        await Client.UnpublishRemoteAsync(Net, $"127.0.0.1:{port}:80/tcp");
        Assert.Null((await Client.GetNetworkAsync(Net)).Published);
        await Client.PublishToRemoteAsync(Net, Far.ToString(), $"{port}:80");
        using (var plain = await _d.Raw.DeleteAsync($"networks/{Net}/published/127.0.0.1:{port}:80/tcp"))
            Assert.Equal(HttpStatusCode.NoContent, plain.StatusCode);
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.UnpublishRemoteAsync(Net, $"{port}:80"));
    }

    [Fact]
    public async Task Refusals_have_their_status_and_a_clear_detail()
    {
        Lease("far-box");
        int port = FreePort();
        var e = await Problems.Expect(HttpStatusCode.NotFound, () => Client.PublishToRemoteAsync(Net, "nobody", $"{port}:80"));
        Assert.Contains($"network '{Net}' has no remote guest 'nobody'", e.Message);
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.PublishToRemoteAsync("no-such-net", "far-box", $"{port}:80"));
        await Problems.Expect(HttpStatusCode.BadRequest, () => Client.PublishToRemoteAsync(Net, "far-box", "80"));

        await Client.PublishToRemoteAsync(Net, "far-box", $"{port}:80");
        e = await Problems.Expect(HttpStatusCode.Conflict, () => Client.PublishToRemoteAsync(Net, "far-box", $"{port}:80"));
        Assert.Contains("already published", e.Message);

        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "rint", Mode = "internal", Subnet = "10.228.0.0/24", DnsUpstreams = ["none"] });
        e = await Problems.Expect(HttpStatusCode.BadRequest, () => Client.PublishToRemoteAsync("rint", "far-box", $"{FreePort()}:80"));
        Assert.Contains("no NAT", e.Message);

        // A body without "to" is a 400 that says so.
        using var response = await _d.Raw.PostAsJsonAsync($"networks/{Net}/published", new { spec = $"{FreePort()}:80" });
        Assert.Contains("to", await Problems.ExpectRaw(HttpStatusCode.BadRequest, response));
    }
}
