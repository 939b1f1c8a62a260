using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>Issue 12's housekeeping through the API: prune, list filters (query parameters) and
/// endpoint labels. Each test has its own daemon: a prune removes every empty network it sees.</summary>
public sealed class HousekeepingApiTests : IAsyncLifetime
{
    private readonly ApiDaemon _d = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-house-");
    private SwitchyardClient Client => _d.Client;

    public Task InitializeAsync() => _d.StartAsync();

    public async Task DisposeAsync()
    {
        await _d.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    private Task<NetworkInfo> Create(string name, string subnet, string? mode = null, Dictionary<string, string>? labels = null) =>
        // AllowHostSubnet: the test never routes to the subnet, and another test's host route must not fail it.
        Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = subnet, Mode = mode, Labels = labels, DnsUpstreams = ["none"], AllowHostSubnet = true });

    /// <summary>A dgram endpoint: needs no root and no namespace.</summary>
    private Task<EndpointInfo> Attach(string network, string name, Dictionary<string, string>? labels = null) =>
        Client.AttachEndpointAsync(network, new EndpointAttachRequest
        {
            Name = name, Labels = labels, Transport = new TransportSpec { Kind = "dgram", Listen = Path.Combine(_dir.FullName, $"{network}-{name}.sock") },
        });

    private static ListFilter Filter(IReadOnlyList<string> keys, params string[] terms)
    {
        Assert.True(ListFilter.TryParse(terms, keys, out var f, out var error), error);
        return f;
    }

    private async Task<List<string>> NetworkNames(params string[] terms) =>
        (await Client.ListNetworksAsync(Filter(ListFilter.NetworkKeys, terms))).Select(n => n.Name).Order().ToList();

    [Fact]
    public async Task Prune_removes_networks_without_endpoints_but_never_default()
    {
        await Create("empty-a", "10.90.1.0/24");
        await Create("empty-b", "10.90.2.0/24", mode: "internal");
        await Create("busy", "10.90.3.0/24");
        await Attach("busy", "vm");

        var result = await Client.PruneNetworksAsync();
        Assert.Equal(["empty-a", "empty-b"], result.Removed.Order());
        Assert.Null(result.Kept);
        Assert.Equal(["busy", "default"], await NetworkNames());
        Assert.Single(await Client.ListEndpointsAsync("busy"));

        // Nothing left to prune: an empty answer, not an error; default stays although it is empty.
        Assert.Empty((await Client.PruneNetworksAsync()).Removed);
        Assert.Contains(await Client.ListNetworksAsync(), n => n.Name == "default" && n.Endpoints == 0);

        // The state agrees: after a restart the pruned networks stay gone.
        await _d.RestartAsync();
        Assert.Equal(["busy", "default"], await NetworkNames());
    }

    [Fact]
    public async Task Prune_keeps_a_network_another_runtime_made()
    {
        await Create("docker-made", "10.90.4.0/24", labels: new() { ["switchyard.created-by"] = "docker", ["com.docker.network.id"] = "abc" });
        await Create("mine", "10.90.5.0/24");
        var result = await Client.PruneNetworksAsync();
        Assert.Equal(["mine"], result.Removed);
        var kept = Assert.Single(result.Kept!);
        Assert.Equal("docker-made", kept.Name);
        Assert.Contains("made by docker", kept.Reason);
        Assert.Equal(["default", "docker-made"], await NetworkNames());
    }

    [Fact]
    public async Task Prune_takes_the_list_filters()
    {
        await Create("lab-1", "10.91.1.0/24", labels: new() { ["team"] = "lab" });
        await Create("lab-2", "10.91.2.0/24", mode: "internal", labels: new() { ["team"] = "lab" });
        await Create("prod", "10.91.3.0/24", labels: new() { ["team"] = "prod" });

        var result = await Client.PruneNetworksAsync(Filter(ListFilter.NetworkKeys, "label=team=lab", "mode=internal"));
        Assert.Equal(["lab-2"], result.Removed);
        Assert.Equal(["default", "lab-1", "prod"], await NetworkNames());
    }

    [Fact]
    public async Task Networks_filter_by_label_mode_and_name()
    {
        await Create("web-nat", "10.92.1.0/24", labels: new() { ["team"] = "web", ["env"] = "prod" });
        await Create("web-int", "10.92.2.0/24", mode: "internal", labels: new() { ["team"] = "web" });
        await Create("db", "10.92.3.0/24", mode: "internal", labels: new() { ["team"] = "db", ["env"] = "prod" });

        Assert.Equal(["db", "default", "web-int", "web-nat"], await NetworkNames());
        Assert.Equal(["web-int", "web-nat"], await NetworkNames("label=team=web"));
        Assert.Equal(["db", "web-nat"], await NetworkNames("label=env"));
        Assert.Equal(["web-nat"], await NetworkNames("label=team=web", "label=env=prod"));   // labels: all
        Assert.Equal(["db", "web-int"], await NetworkNames("mode=internal"));
        Assert.Equal(["db", "default", "web-int", "web-nat"], await NetworkNames("mode=internal", "mode=nat"));   // one key: any
        Assert.Equal(["web-int"], await NetworkNames("mode=internal", "name=web"));   // keys: all
        Assert.Empty(await NetworkNames("label=team=none"));
    }

    [Fact]
    public async Task Endpoints_filter_by_network_and_label_and_keep_their_labels()
    {
        await Create("a", "10.93.1.0/24");
        await Create("b", "10.93.2.0/24");
        var web = await Attach("a", "web", new() { ["role"] = "web", ["owner"] = "ci" });
        await Attach("a", "db", new() { ["role"] = "db" });
        await Attach("b", "web", new() { ["role"] = "web" });
        Assert.Equal("web", web.Labels!["role"]);

        async Task<List<string>> Names(string? network, params string[] terms) =>
            (await Client.ListEndpointsAsync(network, Filter(ListFilter.EndpointKeys, terms))).Select(e => $"{e.Network}/{e.Name}").Order().ToList();

        Assert.Equal(["a/db", "a/web", "b/web"], await Names(null));
        Assert.Equal(["a/web", "b/web"], await Names(null, "label=role=web"));
        Assert.Equal(["a/web"], await Names(null, "label=role=web", "label=owner"));
        Assert.Equal(["b/web"], await Names(null, "network=b"));
        Assert.Empty(await Names(null, "network=b", "name=db"));   // keys: all
        Assert.Equal(["a/web", "b/web"], await Names(null, "network=a", "network=b", "name=we"));   // one key: any
        Assert.Equal(["a/web"], await Names("a", "label=role=web"));   // a network's own list takes the filters too
        Assert.Empty(await Names(null, "network=nowhere"));   // a filter, not a lookup: no 404
    }

    [Fact]
    public async Task Bad_filters_are_400_and_name_the_problem()
    {
        var unknown = await Problems.ExpectRaw(HttpStatusCode.BadRequest, await _d.Raw.GetAsync("networks?driver=bridge"));
        Assert.Contains("unknown filter 'driver'", unknown);
        Assert.Contains("a mode is", await Problems.ExpectRaw(HttpStatusCode.BadRequest, await _d.Raw.GetAsync("networks?mode=bridge")));
        Assert.Contains("label=KEY", await Problems.ExpectRaw(HttpStatusCode.BadRequest, await _d.Raw.GetAsync("endpoints?label=")));
        Assert.Contains("unknown filter 'mode'", await Problems.ExpectRaw(HttpStatusCode.BadRequest, await _d.Raw.GetAsync("endpoints?mode=nat")));
        // A network's own endpoint list: 404 for an unknown network comes first.
        await Problems.ExpectRaw(HttpStatusCode.NotFound, await _d.Raw.GetAsync("networks/nowhere/endpoints?bogus=1"));

        // A prune with a bad filter removes nothing.
        await Create("keep", "10.94.1.0/24");
        await Problems.ExpectRaw(HttpStatusCode.BadRequest, await _d.Raw.PostAsync("networks/prune?mode=nope", null));
        Assert.Contains(await Client.ListNetworksAsync(), n => n.Name == "keep");
    }

    [Fact]
    public async Task A_network_named_prune_is_still_a_network()
    {
        await Create("prune", "10.95.1.0/24");
        Assert.Equal("prune", (await Client.GetNetworkAsync("prune")).Name);
        await Client.DeleteNetworkAsync("prune");
        await Problems.Expect(HttpStatusCode.NotFound, () => Client.GetNetworkAsync("prune"));
    }

    [Theory]
    [InlineData("a=b", "v")]
    [InlineData("has space", "v")]
    [InlineData("", "v")]
    [InlineData("ok", "line\nbreak")]
    public async Task A_bad_endpoint_label_is_400_and_attaches_nothing(string key, string value)
    {
        await Create("lbl", "10.96.1.0/24");
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => Attach("lbl", "vm", new() { [key] = value }));
        Assert.Contains("label", e.Message);
        Assert.Empty(await Client.ListEndpointsAsync("lbl"));
        Assert.Empty(await Client.ListLeasesAsync("lbl"));
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "lbl-vm.sock")));
    }
}
