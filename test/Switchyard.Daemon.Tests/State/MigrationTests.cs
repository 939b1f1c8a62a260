using Microsoft.Data.Sqlite;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.Tests.State;

/// <summary>A state.db written by the code before the control plane was split (Data/state-v6.db,
/// made by Data/make-state-v6.sh from commit ce4a519) opens with this code, and every network,
/// endpoint, reservation, published port and egress policy in it comes back; the typed rows write
/// back the same text.</summary>
public sealed class MigrationTests : IDisposable
{
    private const string SocketDirectory = "/tmp/yard-migration-fixture";   // where the fixture's socket endpoints listened
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-migrate-");

    public MigrationTests()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Data", "state-v6.db"), Path.Combine(_dir.FullName, "state.db"));
        File.WriteAllText(Path.Combine(_dir.FullName, ".initialized"), "");
    }

    private string Db => Path.Combine(_dir.FullName, "state.db");

    [Fact]
    public void The_store_reads_every_row_of_the_previous_schema()
    {
        using var store = new StateStore(Db);
        Assert.Equal(StateStore.SchemaVersion, store.ReadSchemaVersion());   // 6 brought up to date at open

        var networks = store.Networks().ToDictionary(n => n.Name);
        Assert.Equal(["default", "hostnet", "intnet", "natnet"], networks.Keys.Order());
        Assert.Equal(NetworkMode.Nat, networks["natnet"].Mode);
        Assert.Equal(NetworkMode.Internal, networks["intnet"].Mode);
        Assert.Equal(NetworkMode.Host, networks["hostnet"].Mode);
        Assert.False(networks["hostnet"].HostLoopback);
        Assert.Equal("fd42:5ee:1::/64", networks["natnet"].Ipv6Prefix);
        Assert.Equal("lab.test", networks["intnet"].Domain);
        Assert.All(networks.Values, n => Assert.Null(n.VxlanJson));   // schema 8: no network had a tunnel
        var egress = StoredEgressPolicy.FromJson(networks["natnet"].EgressJson)!;
        Assert.Equal("deny", egress.DefaultText);
        Assert.Equal(["example.com", "10.0.0.0/8:443/tcp"], egress.Allow.Select(r => r.ToString()));
        // Written back, the policy is the same text.
        Assert.Equal(networks["natnet"].EgressJson, StoredEgressPolicy.ToJson(egress));

        var web = store.Endpoints("natnet").Single(e => e.Name == "web");
        Assert.Equal("[\"www\",\"api\"]", web.AliasesJson);
        var transport = StoredTransport.FromJson(web.TransportJson);
        Assert.Equal(TransportKind.Stream, transport.Kind);
        Assert.Equal($"{SocketDirectory}/web.sock", transport.Listen);
        Assert.Equal(web.TransportJson, transport.ToJson());
        foreach (var n in networks.Keys)
            foreach (var e in store.Endpoints(n))
                Assert.Equal(e.TransportJson, StoredTransport.FromJson(e.TransportJson).ToJson());
        Assert.False(store.Endpoints("natnet").Single(e => e.Name == "db").DefaultRoute);

        var leases = store.Leases("natnet").ToDictionary(l => l.Endpoint);
        Assert.Equal(MacAddress.Parse("02:00:00:00:0a:01"), leases["web"].Mac);
        Assert.Equal(Ipv4Address.Parse("10.201.0.2"), leases["web"].Ipv4);
        Assert.Equal(LeaseStatus.Reserved, leases["web"].State);
        Assert.Equal(Ipv4Address.Parse("10.201.0.50"), leases["db"].Ipv4);
        Assert.Contains(store.Leases("intnet"), l => l.Endpoint == "gone");   // detached: the reservation stays

        Assert.Equal(["127.0.0.1:47811:80/tcp", "127.0.0.1:47812:53/udp"], store.PublishedPorts("natnet", "web").Select(p => p.Spec));
        Assert.Equal(["127.0.0.1:47813:8080/tcp"], store.PublishedPorts("hostnet", "probe").Select(p => p.Spec));
    }

    [Fact]
    public async Task The_daemon_restores_the_previous_state_through_the_api()
    {
        Directory.CreateDirectory(SocketDirectory);
        try
        {
            await using (var daemon = ApiDaemon.OnDirectory(_dir.FullName))
            {
                await daemon.StartAsync();
                var nat = await daemon.Client.GetNetworkAsync("natnet");
                Assert.Equal("nat", nat.Mode);
                Assert.Equal("10.201.0.0/24", nat.Subnet);
                Assert.Equal("fd42:5ee:1::/64", nat.Ipv6Prefix);
                Assert.Equal("web", nat.Labels["tier"]);
                Assert.Equal("deny", nat.Egress!.Default);
                Assert.Equal(["example.com", "10.0.0.0/8:443/tcp"], nat.Egress.Allow!);
                Assert.Equal(2, nat.Endpoints);
                Assert.Equal("host", (await daemon.Client.GetNetworkAsync("hostnet")).Mode);
                Assert.False((await daemon.Client.GetNetworkAsync("hostnet")).HostLoopback);

                var web = await daemon.Client.GetEndpointAsync("natnet", "web");
                Assert.Equal("10.201.0.2", web.Ipv4);
                Assert.Equal("02:00:00:00:0a:01", web.Mac);
                Assert.Equal(["www", "api"], web.Aliases!);
                Assert.Equal(["127.0.0.1:47811:80/tcp", "127.0.0.1:47812:53/udp"], web.Published);
                Assert.Equal("stream", web.Transport.Kind);
                Assert.Equal("frontend", web.Labels!["role"]);
                Assert.Equal("reserved", web.Lease!.State);
                Assert.False((await daemon.Client.GetEndpointAsync("natnet", "db")).DefaultRoute);
                Assert.Equal(["job"], (await daemon.Client.GetEndpointAsync("intnet", "worker")).Aliases!);

                var leases = await daemon.Client.ListLeasesAsync("intnet");
                Assert.False(leases.Single(l => l.Endpoint == "gone").Attached);
                Assert.True(leases.Single(l => l.Endpoint == "worker").Attached);
            }
            // Nothing was migrated (the schema is the same), and nothing lost on the way out.
            using var again = new StateStore(Db);
            Assert.Equal(StateStore.SchemaVersion, again.ReadSchemaVersion());
            Assert.Equal(4, again.Networks().Count);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(SocketDirectory, recursive: true); } catch (IOException) { }
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
