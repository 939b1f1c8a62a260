using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>/version, /health and the network routes through <see cref="SwitchyardClient"/>.</summary>
public sealed class NetworkApiTests : IClassFixture<ApiDaemon>
{
    private readonly ApiDaemon _d;
    private SwitchyardClient Client => _d.Client;

    public NetworkApiTests(ApiDaemon daemon) => _d = daemon;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    [Fact]
    public async Task Version_reports_api_version_and_runtime()
    {
        var v = await Client.GetVersionAsync();
        Assert.Equal(Api.ApiRoutes.ApiVersion, v.ApiVersion);
        Assert.Matches(@"^\d+\.\d+\.\d+$", v.Version);
        Assert.Equal(Environment.Version.ToString(), v.Runtime);
        Assert.False(string.IsNullOrEmpty(v.Os));
    }

    [Fact]
    public async Task Health_is_ok_with_counts()
    {
        var h = await Client.GetHealthAsync();
        Assert.Equal("ok", h.Status);
        Assert.True(h.Networks >= 1); // at least "default"
        Assert.True(h.Endpoints >= 0);
        Assert.True(h.Uptime >= TimeSpan.Zero);
    }

    [Fact]
    public async Task Create_with_defaults_picks_a_subnet_domain_and_mtu()
    {
        var name = Unique("defs");
        var n = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name });
        try
        {
            Assert.Equal(name, n.Name);
            Assert.Equal("nat", n.Mode);
            Assert.Matches(@"^192\.168\.\d{1,3}\.0/24$", n.Subnet);
            Assert.NotEqual("192.168.64.0/24", n.Subnet); // taken by "default"
            var third = n.Subnet.Split('.')[2];
            Assert.Equal($"192.168.{third}.1", n.Gateway);
            Assert.Equal($"{name}.internal", n.Domain);
            Assert.Equal(1500, n.Mtu);
            Assert.Empty(n.DnsUpstreams);
            Assert.Equal(["127.0.0.53:53"], n.EffectiveDnsUpstreams); // the fixture's resolv.conf
            Assert.Empty(n.Labels);
            Assert.Equal(0, n.Endpoints);
            Assert.Matches("^([0-9a-f]{2}:){5}[0-9a-f]{2}$", n.GatewayMac);
            Assert.NotNull(n.Services);

            var got = await Client.GetNetworkAsync(name);
            Assert.Equal(n.Subnet, got.Subnet);
            Assert.Equal(n.GatewayMac, got.GatewayMac);
            Assert.Contains(await Client.ListNetworksAsync(), x => x.Name == name && x.Subnet == n.Subnet);
        }
        finally { await Client.DeleteNetworkAsync(name); }
    }

    [Fact]
    public async Task Create_with_every_field()
    {
        var name = Unique("full");
        var n = await Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = name, Mode = "internal", Subnet = "10.201.0.0/16", Mtu = 9000, Domain = "Lab.Example.",
            DnsUpstreams = ["192.0.2.53", "192.0.2.54:5353"], Labels = new Dictionary<string, string> { ["team"] = "net", ["tier"] = "" },
        });
        try
        {
            Assert.Equal("internal", n.Mode);
            Assert.Equal("10.201.0.0/16", n.Subnet);
            Assert.Equal("10.201.0.1", n.Gateway);
            Assert.Equal(9000, n.Mtu);
            Assert.Equal("lab.example", n.Domain); // normalized: lower case, no trailing dot
            Assert.Equal(["192.0.2.53", "192.0.2.54:5353"], n.DnsUpstreams);
            Assert.Empty(n.EffectiveDnsUpstreams!); // internal networks forward nothing
            Assert.Equal("net", n.Labels["team"]);
            Assert.Equal("", n.Labels["tier"]);
        }
        finally { await Client.DeleteNetworkAsync(name); }
    }

    [Fact]
    public async Task Delete_removes_and_second_delete_is_404()
    {
        var name = Unique("del");
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.202.0.0/24" });
        await Client.DeleteNetworkAsync(name);
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetNetworkAsync(name));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.DeleteNetworkAsync(name));
        Assert.DoesNotContain(await Client.ListNetworksAsync(), x => x.Name == name);
        // The subnet is free again.
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.202.0.0/24" });
        await Client.DeleteNetworkAsync(name);
    }

    [Fact]
    public async Task Update_changes_mode_and_host_loopback_of_a_network_without_endpoints()
    {
        var name = Unique("upd");
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.218.0.0/24", Mode = "nat" });
        try
        {
            var n = await Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Mode = "host", HostLoopback = false });
            Assert.Equal("host", n.Mode);
            Assert.False(n.HostLoopback);
            Assert.Equal("10.218.0.0/24", n.Subnet);
            n = await Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Mode = "internal" });
            Assert.Equal("internal", n.Mode);
            Assert.Null(n.Nat);
            Assert.Empty(n.EffectiveDnsUpstreams ?? []);
            Assert.Equal("internal", (await Client.GetNetworkAsync(name)).Mode);
            // The same mode again changes nothing and is not an error.
            Assert.Equal("internal", (await Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Mode = "internal" })).Mode);
        }
        finally { await Client.DeleteNetworkAsync(name); }
    }

    [Fact]
    public async Task Update_with_a_misspelled_mode_is_400_and_changes_nothing()
    {
        var name = Unique("updbad");
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.219.0.0/24", Mode = "nat" });
        try
        {
            var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Mode = "nta" }));
            Assert.Contains("unknown mode 'nta'", e.Message);
            Assert.Equal("nat", (await Client.GetNetworkAsync(name)).Mode);
            await Problems.Expect(HttpStatusCode.NotFound, () => Client.UpdateNetworkAsync("no-such-net", new NetworkUpdateRequest { Mode = "nat" }));
        }
        finally { await Client.DeleteNetworkAsync(name); }
    }

    [Fact]
    public async Task Unknown_network_is_404_naming_it()
    {
        var e = await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetNetworkAsync("no-such-net"));
        Assert.Contains("no-such-net", e.Message);
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.ListEndpointsAsync("no-such-net"));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.ListLeasesAsync("no-such-net"));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetEndpointAsync("no-such-net", "x"));
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.DetachEndpointAsync("no-such-net", "x"));
    }

    [Fact]
    public async Task Duplicate_name_is_409()
    {
        var name = Unique("dup");
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.203.0.0/24" });
        try
        {
            var e = await Problems.Expect(HttpStatusCode.Conflict,
                () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.204.0.0/24" }));
            Assert.Contains("already exists", e.Message);
        }
        finally { await Client.DeleteNetworkAsync(name); }
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("-lead")]
    [InlineData("trail-")]
    [InlineData("under_score")]
    [InlineData("dot.ted")]
    [InlineData("a0123456789012345678901234567890123456789012345678901234567890123")] // 65 chars
    public async Task Bad_network_name_is_400(string name)
    {
        await Problems.Expect(HttpStatusCode.BadRequest, () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.205.0.0/24" }));
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.1/24")]
    [InlineData("nonsense")]
    [InlineData("10.206.0.0/31")]
    [InlineData("10.206.0.0/32")]
    [InlineData("10.0.0.0/7")]
    [InlineData("10.206.0.0")]
    public async Task Bad_subnet_is_400(string subnet)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("cidr"), Subnet = subnet }));
        Assert.DoesNotContain("overlaps", e.Message);
    }

    [Fact]
    public async Task Prefix_31_message_explains_the_range()
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("p31"), Subnet = "10.207.0.0/31" }));
        Assert.Contains("8-30", e.Message);
    }

    [Fact]
    public async Task Overlapping_subnet_is_409_naming_the_other_network()
    {
        var a = Unique("ova");
        await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = a, Subnet = "10.208.0.0/16" });
        try
        {
            var e = await Problems.Expect(HttpStatusCode.Conflict,
                () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("ovb"), Subnet = "10.208.5.0/24" }));
            Assert.Contains(a, e.Message);
            await Problems.Expect(HttpStatusCode.Conflict,
                () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("ovc"), Subnet = "10.0.0.0/8" }));
            await Problems.Expect(HttpStatusCode.Conflict,
                () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("ovd"), Subnet = "192.168.64.128/25" })); // inside "default"
        }
        finally { await Client.DeleteNetworkAsync(a); }
    }

    [Fact]
    public async Task Subnet_overlapping_a_host_route_is_409()
    {
        // The host's own routes (read from the kernel) are checked too; a /24 inside the
        // default route's 0.0.0.0/0 is fine (prefix 0 is ignored), but a connected route is not.
        var routes = Platform.HostRoutes.ReadIpv4().Where(r => r.PrefixLength is > 0 and <= 30).ToList();
        if (routes.Count == 0) return;
        var (network, prefix, _) = routes[0];
        var subnet = new Packets.Ipv4Subnet(new Packets.Ipv4Address(network), prefix).ToString();
        if ((await Client.ListNetworksAsync()).Any(n => Packets.Ipv4Subnet.Parse(n.Subnet).Overlaps(Packets.Ipv4Subnet.Parse(subnet)))) return;
        var e = await Problems.Expect(HttpStatusCode.Conflict,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("route"), Subnet = subnet }));
        Assert.Contains("host route", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(575)]
    [InlineData(65521)]
    [InlineData(-1)]
    public async Task Mtu_out_of_range_is_400(int mtu)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("mtu"), Subnet = "10.209.0.0/24", Mtu = mtu }));
        Assert.Contains("MTU", e.Message);
    }

    [Theory]
    [InlineData(576)]
    [InlineData(65520)]
    public async Task Mtu_bounds_are_accepted(int mtu)
    {
        var name = Unique("mtuok");
        var n = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = mtu == 576 ? "10.210.0.0/24" : "10.211.0.0/24", Mtu = mtu });
        Assert.Equal(mtu, n.Mtu);
        await Client.DeleteNetworkAsync(name);
    }

    [Theory]
    [InlineData("bad domain")]
    [InlineData("a..b")]
    [InlineData("-x.internal")]
    [InlineData("under_score.internal")]
    public async Task Bad_domain_is_400(string domain)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("dom"), Subnet = "10.212.0.0/24", Domain = domain }));
        Assert.Contains("domain", e.Message);
    }

    [Theory]
    [InlineData("not-an-ip")]
    [InlineData("1.2.3.4:99999")]
    [InlineData("1.2.3")]
    [InlineData("")]
    public async Task Bad_dns_upstream_is_400(string upstream)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("dns"), Subnet = "10.213.0.0/24", DnsUpstreams = [upstream] }));
        Assert.Contains("upstream", e.Message);
    }

    [Fact]
    public async Task None_combined_with_a_resolver_is_400()
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("none"), Subnet = "10.214.0.0/24", DnsUpstreams = ["none", "192.0.2.53"] }));
        Assert.Contains("none", e.Message);
    }

    [Fact]
    public async Task None_alone_means_no_forwarding()
    {
        var name = Unique("nofwd");
        var n = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = "10.215.0.0/24", DnsUpstreams = ["none"] });
        Assert.Equal(["none"], n.DnsUpstreams);
        Assert.Empty(n.EffectiveDnsUpstreams!);
        await Client.DeleteNetworkAsync(name);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("NAT")]
    [InlineData("bridged:")]
    public async Task Unknown_mode_is_400(string mode)
    {
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("mode"), Subnet = "10.216.0.0/24", Mode = mode }));
        Assert.Contains("mode", e.Message);
    }

    [Theory]
    [InlineData("bridged:lo", "loopback")]
    [InlineData("bridged:sy-none-such", "no such interface")]
    [InlineData("bridge", "mode")]
    [InlineData("bridged:eth0:1", "no such interface")]
    public async Task Bad_bridges_are_400_and_leave_nothing_behind(string mode, string why)
    {
        var before = (await Client.ListNetworksAsync()).Select(n => n.Name).Order().ToList();
        var e = await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("brg"), Mode = mode }));
        Assert.Contains(why, e.Message);
        Assert.Equal(before, (await Client.ListNetworksAsync()).Select(n => n.Name).Order().ToList());
    }

    /// <summary>A bare "bridged" takes the interface of the host's default route (a socket is
    /// opened on it, with no guest: nothing is sent), or says there is none.</summary>
    [Switchyard.Testing.LinuxRootFact]
    public async Task Bridged_without_an_interface_takes_the_default_routes()
    {
        var name = Unique("brd");
        var expected = Switchyard.Platform.HostRoutes.DefaultRouteInterface();
        if (expected is null || Switchyard.Platform.HostInterfaces.Find(expected) is not { CanBridge: true })
        {
            await Problems.Expect(HttpStatusCode.BadRequest, () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Mode = "bridged" }));
            return;
        }
        var n = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Mode = "bridged" });
        try
        {
            Assert.Equal("bridged", n.Mode);
            Assert.Equal(expected, n.BridgeInterface);
            Assert.Null(n.Nat);
            Assert.Empty(n.EffectiveDnsUpstreams!);
        }
        finally { await Client.DeleteNetworkAsync(name); }
    }

    [Fact]
    public async Task Interfaces_lists_the_loopback_as_not_bridgeable()
    {
        var list = await Client.ListInterfacesAsync();
        var lo = Assert.Single(list, i => i.Name == "lo");
        Assert.Equal("loopback", lo.Kind);
        Assert.False(lo.CanBridge);
        Assert.Contains("loopback", lo.Reason);
        Assert.Contains("127.0.0.1/8", lo.Addresses);
    }

    [Fact]
    public async Task Bad_label_key_is_400()
    {
        await Problems.Expect(HttpStatusCode.BadRequest, () => Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = Unique("lbl"), Subnet = "10.217.0.0/24", Labels = new Dictionary<string, string> { ["a=b"] = "c" },
        }));
    }

    [Fact]
    public async Task Failed_creates_leave_nothing_behind()
    {
        var before = (await Client.ListNetworksAsync()).Select(n => n.Name).Order().ToList();
        await Problems.Expect(HttpStatusCode.BadRequest,
            () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("left"), Subnet = "10.218.0.0/24", Mtu = 1 }));
        var after = (await Client.ListNetworksAsync()).Select(n => n.Name).Order().ToList();
        Assert.Equal(before.Where(n => !n.StartsWith("left-", StringComparison.Ordinal)), after.Where(n => !n.StartsWith("left-", StringComparison.Ordinal)));
        Assert.DoesNotContain(after, n => n.StartsWith("left-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ipv6_auto_is_a_stable_ula_64_with_the_gateway_at_1()
    {
        var name = Unique("v6auto");
        var n = await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Ipv6 = "auto" });
        try
        {
            Assert.Equal(Packets.Ipv6Prefix.StableUla(name).ToString(), n.Ipv6Prefix);
            Assert.Matches("^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/64$", n.Ipv6Prefix);
            Assert.Equal(n.Ipv6Prefix![..^3] + "1", n.Ipv6Gateway);
            Assert.StartsWith("fe80::", n.Ipv6GatewayLinkLocal);
            Assert.Equal(n.Ipv6Prefix, (await Client.GetNetworkAsync(name)).Ipv6Prefix);
            // The same prefix twice is a conflict.
            var other = Unique("v6dup");
            await Problems.Expect(HttpStatusCode.Conflict, () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = other, Ipv6 = n.Ipv6Prefix }));
            await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetNetworkAsync(other));
        }
        finally { await Client.DeleteNetworkAsync(name); }
        var plain = Unique("v4only");
        Assert.Null((await Client.CreateNetworkAsync(new NetworkCreateRequest { Name = plain })).Ipv6Prefix);
        await Client.DeleteNetworkAsync(plain);
    }

    [Theory]
    [InlineData("fd00:1:2::/48", "must be a /64")]
    [InlineData("fd00:1:2:3::/128", "must be a /64")]
    [InlineData("fd00:1:2:3::5/64", "host bits")]
    [InlineData("10.0.0.0/24", "not an IPv6 address")]
    [InlineData("fe80::/64", "unicast")]
    public async Task Ipv6_prefix_that_is_not_a_usable_64_is_refused_and_nothing_is_created(string prefix, string reason)
    {
        var name = Unique("v6bad");
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Ipv6 = prefix }));
        Assert.Contains(reason, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetNetworkAsync(name));
    }

    [Fact]
    public async Task Ipv6_on_a_bridged_network_is_refused()
    {
        var name = Unique("v6br");
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Mode = "bridged", Ipv6 = "auto" }));
        Assert.Contains("bridged", e.Message);
    }
}
