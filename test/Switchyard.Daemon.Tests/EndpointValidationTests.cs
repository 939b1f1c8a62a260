using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>Attach requests the daemon refuses before it touches the system (no root needed).</summary>
public sealed class EndpointValidationTests : IClassFixture<ApiDaemon>, IAsyncLifetime
{
    private const string Net = "val";
    private readonly ApiDaemon _d;
    private SwitchyardClient Client => _d.Client;

    public EndpointValidationTests(ApiDaemon daemon) => _d = daemon;

    public async Task InitializeAsync()
    {
        if ((await Client.ListNetworksAsync()).All(n => n.Name != Net))
            await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Net, Subnet = "10.220.0.0/24" });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A transport that passes validation; the namespace is never reached because every
    /// request here fails earlier.</summary>
    private static TransportSpec Tap => new() { Kind = "tap", Netns = "sy-never-created" };

    private Task<EndpointInfo> Attach(string name, TransportSpec? transport = null, string? mac = null, string? ip = null, string network = Net) =>
        Client.AttachEndpointAsync(network, new EndpointAttachRequest { Name = name, Transport = transport ?? Tap, Mac = mac, Ip = ip });

    [Fact]
    public async Task Attach_to_unknown_network_is_404()
    {
        var e = await Problems.Expect(HttpStatusCode.NotFound, () => Attach("a", network: "nowhere"));
        Assert.Contains("nowhere", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Caps")]
    [InlineData("has space")]
    [InlineData("-x")]
    [InlineData("a.b")]
    public async Task Bad_endpoint_name_is_400(string name)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach(name));
        Assert.Contains("endpoint name", e.Message);
    }

    [Theory]
    [InlineData("gateway")]
    [InlineData("host")]
    public async Task Reserved_name_is_400(string name)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach(name));
        Assert.Contains("reserved", e.Message);
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("02:00:00:00:00")]
    [InlineData("02:00:00:00:00:0g")]
    [InlineData("02:00:00:00:00:01:02")]
    public async Task Bad_mac_is_400(string mac)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("m", mac: mac));
        Assert.Contains("MAC", e.Message);
    }

    [Theory]
    [InlineData("01:00:5e:00:00:01")]
    [InlineData("ff:ff:ff:ff:ff:ff")]
    [InlineData("03:00:00:00:00:01")]
    [InlineData("00:00:00:00:00:00")]
    public async Task Multicast_broadcast_or_zero_mac_is_400(string mac)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("m", mac: mac));
        Assert.Contains("unicast", e.Message);
    }

    [Fact]
    public async Task Gateway_mac_is_409()
    {
        var gw = (await Client.GetNetworkAsync(Net)).GatewayMac;
        await Problems.Expect(HttpStatusCode.Conflict, () => Attach("m", mac: gw));
    }

    [Theory]
    [InlineData("10.221.0.5", "outside")]
    [InlineData("10.220.0.1", "gateway")]
    [InlineData("10.220.0.0", "network address")]
    [InlineData("10.220.0.255", "broadcast")]
    [InlineData("not-an-ip", "not an IPv4 address")]
    [InlineData("10.220.0.256", "not an IPv4 address")]
    public async Task Bad_ip_is_400(string ip, string why)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("i", ip: ip));
        Assert.Contains(why, e.Message);
    }

    [Theory]
    [InlineData("vsock")]
    [InlineData("")]
    [InlineData("TAP")]
    public async Task Unknown_transport_kind_is_400(string kind)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("t", new TransportSpec { Kind = kind }));
        Assert.Contains("unknown transport", e.Message);
    }

    [Fact]
    public async Task Tap_with_neither_namespace_nor_ifname_is_400()
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("t", new TransportSpec { Kind = "tap" }));
        Assert.Contains("namespace", e.Message);
    }

    [Fact]
    public async Task Tap_with_both_namespace_forms_is_400()
    {
        await Problems.Expect(HttpStatusCode.BadRequest,
            () => Attach("t", new TransportSpec { Kind = "tap", Netns = "a", NetnsPath = "/proc/1/ns/net" }));
    }

    [Fact]
    public async Task Configure_on_a_bare_tap_is_400()
    {
        await Problems.Expect(HttpStatusCode.BadRequest,
            () => Attach("t", new TransportSpec { Kind = "tap", Ifname = "sytap0", Configure = true }));
    }

    [Theory]
    [InlineData("this-name-is-too-long")]
    [InlineData("a/b")]
    [InlineData("a b")]
    public async Task Bad_ifname_is_400(string ifname)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Attach("t", new TransportSpec { Kind = "tap", Netns = "x", Ifname = ifname }));
        Assert.Contains("interface name", e.Message);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    public async Task Bad_namespace_name_is_400(string ns)
    {
        await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("t", new TransportSpec { Kind = "tap", Netns = ns }));
    }

    [Fact]
    public async Task Missing_namespace_is_400_naming_it()
    {
        var ns = $"sy-missing-{Guid.NewGuid().ToString("N")[..8]}";
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("t", new TransportSpec { Kind = "tap", Netns = ns }));
        Assert.Contains(ns, e.Message);
        Assert.Contains("does not exist", e.Message);
        var e2 = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Attach("t", new TransportSpec { Kind = "tap", NetnsPath = $"/run/netns/{ns}" }));
        Assert.Contains(ns, e2.Message);
        // Nothing was recorded: no endpoint, no reservation.
        Assert.Empty(await Client.ListEndpointsAsync(Net));
        Assert.Empty(await Client.ListLeasesAsync(Net));
    }

    [Fact]
    public async Task Unknown_endpoint_is_404()
    {
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetEndpointAsync(Net, "ghost"));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.DetachEndpointAsync(Net, "ghost"));
    }

    [Fact]
    public async Task Empty_lists_on_a_fresh_network()
    {
        Assert.Empty(await Client.ListEndpointsAsync(Net));
        Assert.Empty(await Client.ListLeasesAsync(Net));
        Assert.DoesNotContain(await Client.ListEndpointsAsync(), e => e.Network == Net);
    }
}
