using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Testing;

namespace Switchyard.Daemon.Tests;

/// <summary>Endpoint success paths with real namespaces and TAP devices (root).</summary>
public sealed class EndpointRootTests : IClassFixture<ApiDaemon>
{
    private readonly ApiDaemon _d;
    private SwitchyardClient Client => _d.Client;

    public EndpointRootTests(ApiDaemon daemon) => _d = daemon;

    private async Task<string> NewNetwork(int third)
    {
        var name = $"ep{third}";
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = $"10.240.{third}.0/24", DnsUpstreams = ["none"] });
        return name;
    }

    private static EndpointAttachRequest Request(string name, TestNamespace ns, string? ip = null, string? mac = null) =>
        new() { Name = name, Transport = new TransportSpec { Kind = "tap", Netns = ns.Name }, Ip = ip, Mac = mac };

    private async Task Cleanup(string network)
    {
        foreach (var e in await Client.ListEndpointsAsync(network)) await Client.DetachEndpointAsync(network, e.Name);
        await Client.DeleteNetworkAsync(network);
    }

    [LinuxRootFact]
    public async Task A_failing_attach_leaves_nothing_behind()
    {
        var net = await NewNetwork(9);
        using var ns = TestNamespace.Create();
        // A directory where --configure writes resolv.conf: the attach fails after the TAP exists.
        var blocker = Path.Combine("/etc/netns", ns.Name, "resolv.conf");
        Directory.CreateDirectory(blocker);
        try
        {
            var request = new EndpointAttachRequest { Name = "cfg", Transport = new TransportSpec { Kind = "tap", Netns = ns.Name, Configure = true } };
            var e = await Problems.Expect(System.Net.HttpStatusCode.BadRequest, () => Client.AttachEndpointAsync(net, request));
            Assert.Contains("cfg", e.Message);
            Assert.Empty(await Client.ListEndpointsAsync(net));
            Assert.Empty(await Client.ListLeasesAsync(net));
            Assert.DoesNotContain("eth0", ns.Ip("-br", "link").StdOut); // the TAP went with the rollback

            Directory.Delete(blocker);
            var ok = await Client.AttachEndpointAsync(net, request);
            Assert.Equal("up", ok.State);
        }
        finally
        {
            if (Directory.Exists(blocker)) Directory.Delete(blocker);
            await Cleanup(net);
        }
    }

    [LinuxRootFact]
    public async Task Attach_get_list_leases_detach()
    {
        var net = await NewNetwork(1);
        using var ns = TestNamespace.Create();
        try
        {
            var a = await Client.AttachEndpointAsync(net, Request("alpha", ns));
            Assert.Equal(net, a.Network);
            Assert.Equal("alpha", a.Name);
            Assert.Equal($"alpha.{net}.internal", a.Fqdn);
            Assert.Equal("up", a.State);
            Assert.Null(a.Error);
            Assert.True(Ipv4Subnet.Parse("10.240.1.0/24").Contains(Ipv4Address.Parse(a.Ipv4)));
            Assert.Equal("10.240.1.2", a.Ipv4); // the first address after the gateway
            Assert.True(MacAddress.TryParse(a.Mac, out var mac));
            Assert.False(mac.IsMulticast);
            Assert.Equal("tap", a.Transport.Kind);
            Assert.Equal(ns.Name, a.Transport.Netns);
            Assert.Equal("eth0", a.Transport.Ifname);

            // The TAP device exists in the namespace with the endpoint's MAC.
            var link = ns.IpJson("link", "show", "eth0")[0];
            Assert.Equal(a.Mac, link.GetProperty("address").GetString());

            var got = await Client.GetEndpointAsync(net, "alpha");
            Assert.Equal("up", got.State);
            Assert.Equal(a.Mac, got.Mac);
            Assert.Equal(a.Ipv4, got.Ipv4);
            Assert.NotNull(got.Counters);
            Assert.NotNull(got.Counters!.Drops);
            Assert.NotNull(got.Lease);
            Assert.Equal("reserved", got.Lease!.State);

            Assert.Contains(await Client.ListEndpointsAsync(), e => e.Network == net && e.Name == "alpha");
            var perNet = await Client.ListEndpointsAsync(net);
            Assert.Equal(["alpha"], perNet.Select(e => e.Name));
            Assert.Equal(1, (await Client.GetNetworkAsync(net)).Endpoints);

            var lease = Assert.Single(await Client.ListLeasesAsync(net));
            Assert.Equal("alpha", lease.Endpoint);
            Assert.Equal(a.Ipv4, lease.Ipv4);
            Assert.Equal(a.Mac, lease.Mac);
            Assert.Equal("reserved", lease.State);
            Assert.Null(lease.Expires);
            Assert.True(lease.Attached);

            var dup = await Problems.Expect(HttpStatusCode.Conflict, () => Client.AttachEndpointAsync(net, Request("alpha", ns)));
            Assert.Contains("already attached", dup.Message);

            await Client.DetachEndpointAsync(net, "alpha");
            await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetEndpointAsync(net, "alpha"));
            await Problems.Expect(HttpStatusCode.NotFound, () => Client.DetachEndpointAsync(net, "alpha"));
            Assert.Empty(await Client.ListEndpointsAsync(net));
            // The reservation outlives the attachment.
            var kept = Assert.Single(await Client.ListLeasesAsync(net));
            Assert.False(kept.Attached);
            Assert.Equal(a.Ipv4, kept.Ipv4);
            // The TAP device is gone with the detach.
            Assert.NotEqual(0, Command.Run("ip", ["-n", ns.Name, "link", "show", "eth0"], check: false).ExitCode);
        }
        finally { await Cleanup(net); }
    }

    [LinuxRootFact]
    public async Task Reattach_keeps_ip_and_mac()
    {
        var net = await NewNetwork(2);
        using var ns1 = TestNamespace.Create();
        using var ns2 = TestNamespace.Create();
        try
        {
            var first = await Client.AttachEndpointAsync(net, Request("one", ns1));
            var other = await Client.AttachEndpointAsync(net, Request("two", ns2));
            Assert.NotEqual(first.Ipv4, other.Ipv4);
            Assert.NotEqual(first.Mac, other.Mac);
            await Client.DetachEndpointAsync(net, "one");
            // Another endpoint must not take the detached one's address.
            using var ns3 = TestNamespace.Create();
            var third = await Client.AttachEndpointAsync(net, Request("three", ns3));
            Assert.NotEqual(first.Ipv4, third.Ipv4);

            var again = await Client.AttachEndpointAsync(net, Request("one", ns1));
            Assert.Equal(first.Ipv4, again.Ipv4);
            Assert.Equal(first.Mac, again.Mac);
            Assert.Equal("up", again.State);
            Assert.All(await Client.ListLeasesAsync(net), l => Assert.True(l.Attached));
        }
        finally { await Cleanup(net); }
    }

    [LinuxRootFact]
    public async Task Pinned_ip_and_mac_are_honoured_and_conflicts_are_409()
    {
        var net = await NewNetwork(3);
        using var ns1 = TestNamespace.Create();
        using var ns2 = TestNamespace.Create();
        try
        {
            var a = await Client.AttachEndpointAsync(net, Request("pinned", ns1, ip: "10.240.3.77", mac: "02:5a:00:00:00:77"));
            Assert.Equal("10.240.3.77", a.Ipv4);
            Assert.Equal("02:5a:00:00:00:77", a.Mac);
            Assert.Equal("10.240.3.77", (await Client.GetEndpointAsync(net, "pinned")).Ipv4);

            var ipTaken = await Problems.Expect(HttpStatusCode.Conflict, () => Client.AttachEndpointAsync(net, Request("other", ns2, ip: "10.240.3.77")));
            Assert.Contains("pinned", ipTaken.Message);
            await Problems.Expect(HttpStatusCode.Conflict, () => Client.AttachEndpointAsync(net, Request("other", ns2, mac: "02:5a:00:00:00:77")));

            // A detached endpoint's reservation still holds its address against others.
            await Client.DetachEndpointAsync(net, "pinned");
            await Problems.Expect(HttpStatusCode.Conflict, () => Client.AttachEndpointAsync(net, Request("other", ns2, ip: "10.240.3.77")));
            // Nothing was left behind by the refusals.
            Assert.Empty(await Client.ListEndpointsAsync(net));
            Assert.Single(await Client.ListLeasesAsync(net));
        }
        finally { await Cleanup(net); }
    }

    [LinuxRootFact]
    public async Task Delete_network_with_endpoints_is_409()
    {
        var net = await NewNetwork(4);
        using var ns = TestNamespace.Create();
        try
        {
            await Client.AttachEndpointAsync(net, Request("busy", ns));
            var e = await Problems.Expect(HttpStatusCode.Conflict, () => Client.DeleteNetworkAsync(net));
            Assert.Contains("busy", e.Message);
            Assert.Equal(net, (await Client.GetNetworkAsync(net)).Name);
            await Client.DetachEndpointAsync(net, "busy");
            await Client.DeleteNetworkAsync(net);
            await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetNetworkAsync(net));
        }
        catch
        {
            await Cleanup(net);
            throw;
        }
    }

    [LinuxRootFact]
    public async Task Health_counts_endpoints()
    {
        var net = await NewNetwork(5);
        using var ns = TestNamespace.Create();
        try
        {
            int before = (await Client.GetHealthAsync()).Endpoints;
            await Client.AttachEndpointAsync(net, Request("counted", ns));
            Assert.Equal(before + 1, (await Client.GetHealthAsync()).Endpoints);
        }
        finally { await Cleanup(net); }
    }
}
