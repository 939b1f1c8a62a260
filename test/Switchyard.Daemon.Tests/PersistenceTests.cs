using System.Net;
using Microsoft.Data.Sqlite;
using Switchyard.Client;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>State survives a restart; the default network; schema versions.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task Networks_survive_a_restart_with_every_field()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        var a = await d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = "persist-a", Mode = "internal", Subnet = "10.248.0.0/16", Mtu = 9000, Domain = "a.example",
            DnsUpstreams = ["192.0.2.53", "[2001:db8::53]:5353"], Ipv6 = "fd00:248:0:1::/64", Labels = new Dictionary<string, string> { ["env"] = "test", ["owner"] = "qa" },
        });
        var b = await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "persist-b", DnsUpstreams = ["none"] });
        var before = await d.Client.ListNetworksAsync();

        await d.RestartAsync();

        var after = await d.Client.ListNetworksAsync();
        Assert.Equal(before.Select(n => n.Name).Order(), after.Select(n => n.Name).Order());
        foreach (var (x, y) in new[] { a, b }.Select(n => (n, after.Single(m => m.Name == n.Name))))
        {
            Assert.Equal(x.Mode, y.Mode);
            Assert.Equal(x.Subnet, y.Subnet);
            Assert.Equal(x.Gateway, y.Gateway);
            Assert.Equal(x.GatewayMac, y.GatewayMac);
            Assert.Equal(x.Mtu, y.Mtu);
            Assert.Equal(x.Domain, y.Domain);
            Assert.Equal(x.DnsUpstreams, y.DnsUpstreams);
            Assert.Equal(x.EffectiveDnsUpstreams, y.EffectiveDnsUpstreams);
            Assert.Equal(x.Labels.OrderBy(kv => kv.Key), y.Labels.OrderBy(kv => kv.Key));
            Assert.Equal(x.Created, y.Created);
            Assert.Equal(x.Ipv6Prefix, y.Ipv6Prefix);
            Assert.Equal(x.Ipv6Gateway, y.Ipv6Gateway);
        }
        Assert.Equal("fd00:248:0:1::/64", after.Single(n => n.Name == "persist-a").Ipv6Prefix);
        Assert.Null(after.Single(n => n.Name == "persist-b").Ipv6Prefix);
        // The auto-picked subnet stays taken after the restart.
        var c = await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "persist-c" });
        Assert.NotEqual(b.Subnet, c.Subnet);
        // And deletes persist too.
        await d.Client.DeleteNetworkAsync("persist-a");
        await d.RestartAsync();
        await Problems.Expect(HttpStatusCode.NotFound, () => d.Client.GetNetworkAsync("persist-a"));
        Assert.Equal(c.Subnet, (await d.Client.GetNetworkAsync("persist-c")).Subnet);
    }

    [Fact]
    public async Task Default_network_on_first_start_only()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        var def = Assert.Single(await d.Client.ListNetworksAsync());
        Assert.Equal("default", def.Name);
        Assert.Equal("192.168.64.0/24", def.Subnet);
        Assert.Equal("192.168.64.1", def.Gateway);
        Assert.Equal("default.internal", def.Domain);
        Assert.Equal("nat", def.Mode);
        Assert.True(File.Exists(Path.Combine(d.StateDirectory, ".initialized")));

        // A plain restart keeps it (not recreated: same creation time).
        await d.RestartAsync();
        Assert.Equal(def.Created, (await d.Client.GetNetworkAsync("default")).Created);

        // Deleted by the user: it stays deleted across restarts.
        await d.Client.DeleteNetworkAsync("default");
        await d.RestartAsync();
        Assert.Empty(await d.Client.ListNetworksAsync());
        await d.RestartAsync();
        Assert.Empty(await d.Client.ListNetworksAsync());

        // The marker is what remembers it: without it, an empty state directory is "fresh".
        await d.StopAsync();
        File.Delete(Path.Combine(d.StateDirectory, ".initialized"));
        await d.StartAsync();
        Assert.Equal("default", Assert.Single(await d.Client.ListNetworksAsync()).Name);
    }

    [Fact]
    public async Task Existing_state_without_marker_gets_no_default()
    {
        // A state.db with networks (e.g. from before the marker existed) is not fresh.
        // Another test's outside namespace may route 10.251.0.0/24 on this host meanwhile; this test is not about that.
        await using var d = new ApiDaemon();
        await d.StartAsync();
        await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "mine", Subnet = "10.251.0.0/24", AllowHostSubnet = true });
        await d.Client.DeleteNetworkAsync("default");
        await d.StopAsync();
        File.Delete(Path.Combine(d.StateDirectory, ".initialized"));
        await d.StartAsync();
        Assert.Equal(["mine"], (await d.Client.ListNetworksAsync()).Select(n => n.Name));
    }

    [Fact]
    public void Store_schema_version_after_open()
    {
        var dir = Directory.CreateTempSubdirectory("yard-test-");
        try
        {
            var path = Path.Combine(dir.FullName, "state.db");
            using (var store = new StateStore(path))
            {
                Assert.True(StateStore.SchemaVersion >= 1);
                Assert.Equal(StateStore.SchemaVersion, store.ReadSchemaVersion());
                Assert.Empty(store.Networks());
            }
            // Reopening an up-to-date database is a no-op migration.
            using (var again = new StateStore(path))
                Assert.Equal(StateStore.SchemaVersion, again.ReadSchemaVersion());
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_version_1_database_gets_host_loopback_on_and_published_ports()
    {
        var dir = Directory.CreateTempSubdirectory("yard-test-");
        try
        {
            var path = Path.Combine(dir.FullName, "state.db");
            using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
            {
                // The schema of version 1, with a network and an endpoint in it.
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = """
                    CREATE TABLE networks (
                        name TEXT PRIMARY KEY, mode TEXT NOT NULL, bridge_interface TEXT, subnet TEXT NOT NULL,
                        mtu INTEGER NOT NULL, domain TEXT NOT NULL, dns_upstreams TEXT NOT NULL, labels TEXT NOT NULL,
                        gateway_mac TEXT NOT NULL, created TEXT NOT NULL);
                    CREATE TABLE endpoints (
                        network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE, name TEXT NOT NULL,
                        transport TEXT NOT NULL, labels TEXT NOT NULL, created TEXT NOT NULL,
                        PRIMARY KEY (network, name));
                    CREATE TABLE leases (
                        network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE, endpoint TEXT NOT NULL,
                        mac TEXT NOT NULL, ipv4 TEXT NOT NULL, state TEXT NOT NULL, expires TEXT, last_used TEXT NOT NULL,
                        PRIMARY KEY (network, endpoint), UNIQUE (network, ipv4), UNIQUE (network, mac));
                    CREATE TABLE quarantine (
                        network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE, ipv4 TEXT NOT NULL, until TEXT NOT NULL,
                        PRIMARY KEY (network, ipv4));
                    INSERT INTO networks VALUES ('old', 'nat', NULL, '10.252.0.0/24', 1500, 'old.internal', '[]', '{}', '02:00:00:00:00:01', '2024-01-01T00:00:00.0000000Z');
                    INSERT INTO endpoints VALUES ('old', 'vm', '{"kind":"stream","listen":"/tmp/x.sock"}', '{}', '2024-01-01T00:00:00.0000000Z');
                    PRAGMA user_version = 1;
                    """;
                cmd.ExecuteNonQuery();
            }
            using var store = new StateStore(path);
            Assert.Equal(StateStore.SchemaVersion, store.ReadSchemaVersion());
            Assert.True(Assert.Single(store.Networks()).HostLoopback);

            var now = DateTimeOffset.UtcNow;
            store.InsertPublishedPort(new PublishedPortRow("old", "vm", "127.0.0.1:8080:80/tcp", now));
            store.InsertPublishedPort(new PublishedPortRow("old", "vm", "0.0.0.0:5353:53/udp", now));
            Assert.Equal(["127.0.0.1:8080:80/tcp", "0.0.0.0:5353:53/udp"], store.PublishedPorts("old", "vm").Select(p => p.Spec));
            // A published port belongs to an endpoint that exists.
            Assert.Throws<SqliteException>(() => store.InsertPublishedPort(new PublishedPortRow("old", "nobody", "127.0.0.1:1:1/tcp", now)));
            store.DeletePublishedPort("old", "vm", "0.0.0.0:5353:53/udp");
            Assert.Equal(["127.0.0.1:8080:80/tcp"], store.PublishedPorts("old", "vm").Select(p => p.Spec));
            // And goes with it.
            store.DeleteEndpoint("old", "vm");
            Assert.Empty(store.PublishedPorts("old", "vm"));

            store.InsertNetwork(new NetworkRow("new", Switchyard.Network.NetworkMode.Nat, null, "10.253.0.0/24", 1500, "new.internal", "[]", "{}", "02:00:00:00:00:02", now, HostLoopback: false));
            Assert.False(store.Networks().Single(n => n.Name == "new").HostLoopback);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public async Task Newer_schema_is_refused_clearly()
    {
        var dir = Directory.CreateTempSubdirectory("yard-test-");
        try
        {
            var path = Path.Combine(dir.FullName, "state.db");
            int newer = StateStore.SchemaVersion + 1;
            using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
            {
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = $"PRAGMA user_version = {newer}";
                cmd.ExecuteNonQuery();
            }
            var e = Assert.Throws<InvalidOperationException>(() => new StateStore(path));
            Assert.Contains($"schema version {newer}", e.Message);
            Assert.Contains("newer", e.Message);
            Assert.Contains("upgrade", e.Message);

            // The refused database was closed: it can be opened (and is untouched).
            using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
            {
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = "PRAGMA user_version";
                Assert.Equal(newer, Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            }

            // The daemon turns it into a start error naming the state directory.
            await using var d = ApiDaemon.OnDirectory(dir.FullName);
            var start = await Assert.ThrowsAsync<DaemonStartException>(d.StartAsync);
            Assert.Contains(dir.FullName, start.Message);
            Assert.Contains("newer", start.Message);
            Assert.False(File.Exists(d.SocketPath));
        }
        finally { dir.Delete(recursive: true); }
    }
}
