using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Testing;

namespace Switchyard.Daemon.Tests;

/// <summary>GET /networks/{network}/flows: errors, an empty list without NAT, and a real flow's
/// shape (a client's connection to a published port, which the NAT opens toward the guest; the
/// guest is a stream endpoint nobody runs, so the flow waits in syn-sent). Guests that answer
/// are in the integration tests.</summary>
public sealed class FlowApiTests : IAsyncLifetime
{
    private readonly ApiDaemon _d = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-flows-").FullName;

    public Task InitializeAsync() => _d.StartAsync();

    public async Task DisposeAsync()
    {
        await _d.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Unknown_network_is_404_and_a_bad_limit_is_400()
    {
        await _d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "fl-err", Subnet = "10.231.0.0/24", DnsUpstreams = ["none"] });
        await Problems.Expect(HttpStatusCode.NotFound, () => _d.Client.ListFlowsAsync("fl-nope"));
        await Problems.Expect(HttpStatusCode.BadRequest, () => _d.Client.ListFlowsAsync("fl-err", 0));
        await Problems.Expect(HttpStatusCode.BadRequest, () => _d.Client.ListFlowsAsync("fl-err", 10_001));
        Assert.Equal(HttpStatusCode.BadRequest, (await _d.Raw.GetAsync("networks/fl-err/flows?limit=many")).StatusCode);
        Assert.Empty(await _d.Client.ListFlowsAsync("fl-err", 10_000));
    }

    [Fact]
    public async Task A_network_without_nat_has_no_flows()
    {
        await _d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "fl-int", Mode = "internal", Subnet = "10.231.1.0/24" });
        Assert.Empty(await _d.Client.ListFlowsAsync("fl-int"));
    }

    [Fact]
    public async Task A_published_port_connection_is_listed_with_its_endpoint_and_the_agreed_fields()
    {
        await _d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "fl-pub", Subnet = "10.231.2.0/24", DnsUpstreams = ["none"] });
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var web = await _d.Client.AttachEndpointAsync("fl-pub", new EndpointAttachRequest
        {
            Name = "web",
            Transport = new TransportSpec { Kind = "stream", Listen = Path.Combine(_dir, "web.sock") },
            Publish = [$"{port}:8080"],
        });
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);   // the kernel completes it; the NAT then opens toward the guest

        List<FlowInfo> flows = [];
        await Eventually.UntilAsync(async () => (flows = await _d.Client.ListFlowsAsync("fl-pub")).Count == 1, TimeSpan.FromSeconds(10));
        var flow = flows[0];
        Assert.Equal("tcp", flow.Protocol);
        Assert.Equal("web", flow.Endpoint);
        Assert.Equal($"{web.Ipv4}:8080", flow.Guest);
        Assert.Equal($"10.231.2.1:{((IPEndPoint)client.LocalEndPoint!).Port}", flow.Destination);   // a loopback client shows as the gateway
        Assert.Equal("syn-sent", flow.State);
        Assert.True(flow.Published);
        Assert.True(flow.AgeSeconds >= 0 && flow.IdleSeconds >= 0);
        Assert.Equal(0, flow.BytesFromGuest);
        Assert.Single(await _d.Client.ListFlowsAsync("fl-pub", 1));

        // The wire names are the agreed ones, endpoint included even when null would be possible.
        using var doc = JsonDocument.Parse(await _d.Raw.GetStringAsync("networks/fl-pub/flows?limit=5"));
        var names = doc.RootElement[0].EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["protocol", "endpoint", "guest", "destination", "state", "ageSeconds", "idleSeconds", "bytesFromGuest", "bytesToGuest", "published"], names);
    }
}
