using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Switchyard.Daemon.State;

/// <summary>A network. <paramref name="EgressJson"/>: its egress policy (an EgressPolicySpec), null for none.</summary>
public sealed record NetworkRow(string Name, string Mode, string? BridgeInterface, string Subnet, int Mtu, string Domain,
    string DnsUpstreamsJson, string LabelsJson, string GatewayMac, DateTimeOffset Created, bool HostLoopback = true, string? EgressJson = null);

/// <summary>An attached endpoint. <paramref name="AliasesJson"/>: its extra DNS names on the network;
/// <paramref name="DefaultRoute"/>: whether its lease names the gateway as router; <paramref name="EgressJson"/>:
/// its own egress policy, null for none.</summary>
public sealed record EndpointRow(string Network, string Name, string TransportJson, string LabelsJson, DateTimeOffset Created,
    string AliasesJson = "[]", bool DefaultRoute = true, string? EgressJson = null);

/// <summary>An address reserved for an endpoint name on a network. It outlives the endpoint's
/// attachment, so a guest that detaches and comes back gets the same MAC and address.</summary>
public sealed record LeaseRow(string Network, string Endpoint, string Mac, string Ipv4, string State, DateTimeOffset? Expires, DateTimeOffset LastUsed);

/// <summary>A host port published to an endpoint: the canonical spec text
/// (<c>HOSTIP:HOSTPORT:GUESTPORT/PROTO</c>). It goes with its endpoint (ON DELETE CASCADE).</summary>
public sealed record PublishedPortRow(string Network, string Endpoint, string Spec, DateTimeOffset Created);

/// <summary>The daemon's persistent state in SQLite (state.db in the state directory): networks,
/// endpoints, published ports, address reservations and quarantined addresses. One connection, used under a lock:
/// the daemon is the only writer, and every change is one transaction, so concurrent API calls
/// cannot interleave half-written state. The schema version is SQLite's user_version; each
/// migration moves it up by one.</summary>
public sealed class StateStore : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    /// <summary>Schema migrations, in order; entry i moves user_version from i to i + 1.</summary>
    private static readonly string[] Migrations =
    [
        """
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
        """,
        // 2: a network's host loopback switch (the gateway address reaches the host's 127.0.0.1); on for every existing network.
        "ALTER TABLE networks ADD COLUMN host_loopback INTEGER NOT NULL DEFAULT 1;",
        // 3: published ports, kept with their endpoint.
        """
        CREATE TABLE published_ports (
            network TEXT NOT NULL, endpoint TEXT NOT NULL, spec TEXT NOT NULL, created TEXT NOT NULL,
            PRIMARY KEY (network, endpoint, spec),
            FOREIGN KEY (network, endpoint) REFERENCES endpoints(network, name) ON DELETE CASCADE);
        """,
        // 4: endpoint aliases (extra DNS names) and whether the endpoint's lease gives a default route.
        """
        ALTER TABLE endpoints ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE endpoints ADD COLUMN default_route INTEGER NOT NULL DEFAULT 1;
        """,
        // 5: egress policies (JSON), a network's and an endpoint's own.
        """
        ALTER TABLE networks ADD COLUMN egress TEXT;
        ALTER TABLE endpoints ADD COLUMN egress TEXT;
        """,
    ];

    public StateStore(string path)
    {
        Path = path;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            _db.Open();
            Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
            Migrate();
        }
        catch
        {
            _db.Dispose(); // a refused database (e.g. a newer schema) must not stay open
            throw;
        }
    }

    public string Path { get; }
    public static int SchemaVersion => Migrations.Length;

    public int ReadSchemaVersion()
    {
        lock (_lock) return Convert.ToInt32(Scalar("PRAGMA user_version"), CultureInfo.InvariantCulture);
    }

    private void Migrate()
    {
        int version = ReadSchemaVersion();
        if (version > Migrations.Length)
            throw new InvalidOperationException($"{Path} has schema version {version}, newer than this Switchyard understands ({Migrations.Length}); upgrade Switchyard");
        for (int v = version; v < Migrations.Length; v++)
        {
            using var tx = _db.BeginTransaction();
            Exec(Migrations[v], tx);
            Exec($"PRAGMA user_version = {v + 1}", tx);
            tx.Commit();
        }
    }

    // ---- networks ----

    public IReadOnlyList<NetworkRow> Networks()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT name, mode, bridge_interface, subnet, mtu, domain, dns_upstreams, labels, gateway_mac, created, host_loopback, egress FROM networks ORDER BY created, name");
            using var r = cmd.ExecuteReader();
            var list = new List<NetworkRow>();
            while (r.Read())
                list.Add(new NetworkRow(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetInt32(4),
                    r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8), Time(r.GetString(9)), r.GetInt64(10) != 0,
                    r.IsDBNull(11) ? null : r.GetString(11)));
            return list;
        }
    }

    public void InsertNetwork(NetworkRow n)
    {
        lock (_lock)
        {
            using var cmd = Command("""
                INSERT INTO networks (name, mode, bridge_interface, subnet, mtu, domain, dns_upstreams, labels, gateway_mac, created, host_loopback, egress)
                VALUES ($name, $mode, $bridge, $subnet, $mtu, $domain, $dns, $labels, $gwmac, $created, $loopback, $egress)
                """);
            cmd.Parameters.AddWithValue("$egress", (object?)n.EgressJson ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$name", n.Name);
            cmd.Parameters.AddWithValue("$mode", n.Mode);
            cmd.Parameters.AddWithValue("$bridge", (object?)n.BridgeInterface ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$subnet", n.Subnet);
            cmd.Parameters.AddWithValue("$mtu", n.Mtu);
            cmd.Parameters.AddWithValue("$domain", n.Domain);
            cmd.Parameters.AddWithValue("$dns", n.DnsUpstreamsJson);
            cmd.Parameters.AddWithValue("$labels", n.LabelsJson);
            cmd.Parameters.AddWithValue("$gwmac", n.GatewayMac);
            cmd.Parameters.AddWithValue("$created", Text(n.Created));
            cmd.Parameters.AddWithValue("$loopback", n.HostLoopback ? 1 : 0);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>A network's mode (with its bridge interface) and host loopback switch.</summary>
    public void UpdateNetworkMode(string name, string mode, string? bridgeInterface, bool hostLoopback)
    {
        lock (_lock)
        {
            using var cmd = Command("UPDATE networks SET mode = $mode, bridge_interface = $bridge, host_loopback = $loopback WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$mode", mode);
            cmd.Parameters.AddWithValue("$bridge", (object?)bridgeInterface ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$loopback", hostLoopback ? 1 : 0);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>A network's egress policy (JSON; null removes it).</summary>
    public void UpdateNetworkEgress(string name, string? egressJson)
    {
        lock (_lock)
        {
            using var cmd = Command("UPDATE networks SET egress = $egress WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$egress", (object?)egressJson ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes a network with its endpoints, published ports, leases and quarantine (ON DELETE CASCADE).</summary>
    public void DeleteNetwork(string name)
    {
        lock (_lock)
        {
            using var cmd = Command("DELETE FROM networks WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.ExecuteNonQuery();
        }
    }

    // ---- endpoints ----

    public IReadOnlyList<EndpointRow> Endpoints(string network)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT network, name, transport, labels, created, aliases, default_route, egress FROM endpoints WHERE network = $n ORDER BY created, name");
            cmd.Parameters.AddWithValue("$n", network);
            using var r = cmd.ExecuteReader();
            var list = new List<EndpointRow>();
            while (r.Read())
                list.Add(new EndpointRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r.GetString(4)), r.GetString(5), r.GetInt64(6) != 0,
                    r.IsDBNull(7) ? null : r.GetString(7)));
            return list;
        }
    }

    /// <summary>Records an attached endpoint, its reservation and its published ports in one
    /// transaction, taking over the reservation of <paramref name="evicted"/> (a long-detached
    /// endpoint) when the subnet was full.</summary>
    public void InsertEndpoint(EndpointRow e, LeaseRow lease, string? evicted = null, IReadOnlyList<string>? published = null)
    {
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            if (evicted is not null)
            {
                using var del = Command("DELETE FROM leases WHERE network = $n AND endpoint = $e", tx);
                del.Parameters.AddWithValue("$n", e.Network);
                del.Parameters.AddWithValue("$e", evicted);
                del.ExecuteNonQuery();
            }
            using (var cmd = Command("""
                INSERT INTO endpoints (network, name, transport, labels, created, aliases, default_route, egress)
                VALUES ($network, $name, $transport, $labels, $created, $aliases, $route, $egress)
                """, tx))
            {
                cmd.Parameters.AddWithValue("$egress", (object?)e.EgressJson ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$aliases", e.AliasesJson);
                cmd.Parameters.AddWithValue("$route", e.DefaultRoute ? 1 : 0);
                cmd.Parameters.AddWithValue("$network", e.Network);
                cmd.Parameters.AddWithValue("$name", e.Name);
                cmd.Parameters.AddWithValue("$transport", e.TransportJson);
                cmd.Parameters.AddWithValue("$labels", e.LabelsJson);
                cmd.Parameters.AddWithValue("$created", Text(e.Created));
                cmd.ExecuteNonQuery();
            }
            UpsertLease(lease, tx);
            foreach (var spec in published ?? [])
                InsertPublishedPort(new PublishedPortRow(e.Network, e.Name, spec, e.Created), tx);
            tx.Commit();
        }
    }

    /// <summary>Whether an endpoint's lease gives a default route (another endpoint of the same guest took it).</summary>
    public void SetDefaultRoute(string network, string name, bool defaultRoute)
    {
        lock (_lock)
        {
            using var cmd = Command("UPDATE endpoints SET default_route = $r WHERE network = $n AND name = $e");
            cmd.Parameters.AddWithValue("$r", defaultRoute ? 1 : 0);
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", name);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes an endpoint with its published ports (ON DELETE CASCADE); its lease stays.</summary>
    public void DeleteEndpoint(string network, string name)
    {
        lock (_lock)
        {
            using var cmd = Command("DELETE FROM endpoints WHERE network = $n AND name = $e");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", name);
            cmd.ExecuteNonQuery();
        }
    }

    // ---- published ports ----

    /// <summary>An endpoint's published ports, in the order they were published.</summary>
    public IReadOnlyList<PublishedPortRow> PublishedPorts(string network, string endpoint)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT network, endpoint, spec, created FROM published_ports WHERE network = $n AND endpoint = $e ORDER BY rowid");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", endpoint);
            using var r = cmd.ExecuteReader();
            var list = new List<PublishedPortRow>();
            while (r.Read()) list.Add(new PublishedPortRow(r.GetString(0), r.GetString(1), r.GetString(2), Time(r.GetString(3))));
            return list;
        }
    }

    public void InsertPublishedPort(PublishedPortRow p)
    {
        lock (_lock) InsertPublishedPort(p, null);
    }

    public void DeletePublishedPort(string network, string endpoint, string spec)
    {
        lock (_lock)
        {
            using var cmd = Command("DELETE FROM published_ports WHERE network = $n AND endpoint = $e AND spec = $s");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", endpoint);
            cmd.Parameters.AddWithValue("$s", spec);
            cmd.ExecuteNonQuery();
        }
    }

    private void InsertPublishedPort(PublishedPortRow p, SqliteTransaction? tx)
    {
        using var cmd = Command("INSERT INTO published_ports (network, endpoint, spec, created) VALUES ($n, $e, $s, $created)", tx);
        cmd.Parameters.AddWithValue("$n", p.Network);
        cmd.Parameters.AddWithValue("$e", p.Endpoint);
        cmd.Parameters.AddWithValue("$s", p.Spec);
        cmd.Parameters.AddWithValue("$created", Text(p.Created));
        cmd.ExecuteNonQuery();
    }

    // ---- leases ----

    public IReadOnlyList<LeaseRow> Leases(string network)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT network, endpoint, mac, ipv4, state, expires, last_used FROM leases WHERE network = $n ORDER BY ipv4");
            cmd.Parameters.AddWithValue("$n", network);
            using var r = cmd.ExecuteReader();
            var list = new List<LeaseRow>();
            while (r.Read())
                list.Add(new LeaseRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
                    r.IsDBNull(5) ? null : Time(r.GetString(5)), Time(r.GetString(6))));
            return list;
        }
    }

    public void UpsertLease(LeaseRow lease)
    {
        lock (_lock) UpsertLease(lease, null);
    }

    public void DeleteLease(string network, string endpoint)
    {
        lock (_lock)
        {
            using var cmd = Command("DELETE FROM leases WHERE network = $n AND endpoint = $e");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", endpoint);
            cmd.ExecuteNonQuery();
        }
    }

    private void UpsertLease(LeaseRow l, SqliteTransaction? tx)
    {
        using var cmd = Command("""
            INSERT INTO leases VALUES ($n, $e, $mac, $ip, $state, $expires, $used)
            ON CONFLICT (network, endpoint) DO UPDATE SET mac = excluded.mac, ipv4 = excluded.ipv4, state = excluded.state,
                expires = excluded.expires, last_used = excluded.last_used
            """, tx);
        cmd.Parameters.AddWithValue("$n", l.Network);
        cmd.Parameters.AddWithValue("$e", l.Endpoint);
        cmd.Parameters.AddWithValue("$mac", l.Mac);
        cmd.Parameters.AddWithValue("$ip", l.Ipv4);
        cmd.Parameters.AddWithValue("$state", l.State);
        cmd.Parameters.AddWithValue("$expires", l.Expires is { } x ? Text(x) : DBNull.Value);
        cmd.Parameters.AddWithValue("$used", Text(l.LastUsed));
        cmd.ExecuteNonQuery();
    }

    // ---- quarantine ----

    public IReadOnlyList<(string Ipv4, DateTimeOffset Until)> Quarantined(string network)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT ipv4, until FROM quarantine WHERE network = $n");
            cmd.Parameters.AddWithValue("$n", network);
            using var r = cmd.ExecuteReader();
            var list = new List<(string, DateTimeOffset)>();
            while (r.Read()) list.Add((r.GetString(0), Time(r.GetString(1))));
            return list;
        }
    }

    public void Quarantine(string network, string ipv4, DateTimeOffset until)
    {
        lock (_lock)
        {
            using var cmd = Command("INSERT INTO quarantine VALUES ($n, $ip, $until) ON CONFLICT (network, ipv4) DO UPDATE SET until = excluded.until");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$ip", ipv4);
            cmd.Parameters.AddWithValue("$until", Text(until));
            cmd.ExecuteNonQuery();
        }
    }

    // ---- plumbing ----

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private void Exec(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = Command(sql, tx);
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var cmd = Command(sql);
        return cmd.ExecuteScalar();
    }

    private static string Text(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
    private static DateTimeOffset Time(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public void Dispose()
    {
        lock (_lock)
        {
            Exec("PRAGMA wal_checkpoint(TRUNCATE)");
            _db.Dispose();
        }
    }
}
