using System.Globalization;
using Microsoft.Data.Sqlite;
using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.State;

/// <summary>The daemon's persistent state in SQLite (state.db in the state directory): networks,
/// endpoints, published ports, address reservations and quarantined addresses. One connection, used under a lock:
/// the daemon is the only writer, and every change is one transaction, so concurrent API calls
/// cannot interleave half-written state. Typed rows (State/Rows.cs) are written as the text
/// earlier versions wrote (<see cref="StoredText"/>); the schema and its migrations are <see cref="Schema"/>.</summary>
public sealed partial class StateStore : IStateStore
{
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    public StateStore(string path)
    {
        Path = path;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            _db.Open();
            Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
            Schema.Migrate(_db, path);
        }
        catch
        {
            _db.Dispose(); // a refused database (e.g. a newer schema) must not stay open
            throw;
        }
    }

    public string Path { get; }
    public static int SchemaVersion => Schema.Version;

    public int ReadSchemaVersion()
    {
        lock (_lock) return Schema.ReadVersion(_db);
    }

    // ---- networks ----

    public IReadOnlyList<NetworkRow> Networks()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT name, mode, bridge_interface, subnet, mtu, domain, dns_upstreams, labels, gateway_mac, created, host_loopback, egress, ipv6_prefix, max_flows, dhcp_range, vxlan FROM networks ORDER BY created, name");
            using var r = cmd.ExecuteReader();
            var list = new List<NetworkRow>();
            while (r.Read())
                list.Add(new NetworkRow(r.GetString(0), Mode(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetInt32(4),
                    r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8), Time(r.GetString(9)), r.GetInt64(10) != 0,
                    r.IsDBNull(11) ? null : r.GetString(11), r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? null : r.GetInt32(13), r.IsDBNull(14) ? null : r.GetString(14),
                    r.IsDBNull(15) ? null : r.GetString(15)));
            return list;
        }
    }

    public void InsertNetwork(NetworkRow n)
    {
        Write(() =>
        {
            using var cmd = Command("""
                INSERT INTO networks (name, mode, bridge_interface, subnet, mtu, domain, dns_upstreams, labels, gateway_mac, created, host_loopback, egress, ipv6_prefix, max_flows, dhcp_range, vxlan)
                VALUES ($name, $mode, $bridge, $subnet, $mtu, $domain, $dns, $labels, $gwmac, $created, $loopback, $egress, $ipv6, $maxflows, $dhcprange, $vxlan)
                """);
            cmd.Parameters.AddWithValue("$dhcprange", (object?)n.DhcpRange ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$vxlan", (object?)n.VxlanJson ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$maxflows", (object?)n.MaxFlows ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$egress", (object?)n.EgressJson ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$name", n.Name);
            cmd.Parameters.AddWithValue("$mode", StoredText.Of(n.Mode));
            cmd.Parameters.AddWithValue("$bridge", (object?)n.BridgeInterface ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$subnet", n.Subnet);
            cmd.Parameters.AddWithValue("$mtu", n.Mtu);
            cmd.Parameters.AddWithValue("$domain", n.Domain);
            cmd.Parameters.AddWithValue("$dns", n.DnsUpstreamsJson);
            cmd.Parameters.AddWithValue("$labels", n.LabelsJson);
            cmd.Parameters.AddWithValue("$gwmac", n.GatewayMac);
            cmd.Parameters.AddWithValue("$created", Text(n.Created));
            cmd.Parameters.AddWithValue("$loopback", n.HostLoopback ? 1 : 0);
            cmd.Parameters.AddWithValue("$ipv6", (object?)n.Ipv6Prefix ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        });
    }

    /// <summary>A network's mode (with its bridge interface) and host loopback switch.</summary>
    public void UpdateNetworkMode(string name, NetworkMode mode, string? bridgeInterface, bool hostLoopback)
    {
        Write(() =>
        {
            using var cmd = Command("UPDATE networks SET mode = $mode, bridge_interface = $bridge, host_loopback = $loopback WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$mode", StoredText.Of(mode));
            cmd.Parameters.AddWithValue("$bridge", (object?)bridgeInterface ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$loopback", hostLoopback ? 1 : 0);
            cmd.ExecuteNonQuery();
        });
    }

    /// <summary>A network's NAT flow cap (null: the default).</summary>
    public void UpdateNetworkMaxFlows(string name, int? maxFlows)
    {
        Write(() =>
        {
            using var cmd = Command("UPDATE networks SET max_flows = $m WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$m", (object?)maxFlows ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        });
    }

    /// <summary>A network's VXLAN uplink (JSON <see cref="StoredVxlan"/>), after its peers changed.</summary>
    public void UpdateNetworkVxlan(string name, string? vxlanJson)
    {
        Write(() =>
        {
            using var cmd = Command("UPDATE networks SET vxlan = $vxlan WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$vxlan", (object?)vxlanJson ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        });
    }

    /// <summary>A network's egress policy (JSON; null removes it).</summary>
    public void UpdateNetworkEgress(string name, string? egressJson)
    {
        Write(() =>
        {
            using var cmd = Command("UPDATE networks SET egress = $egress WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$egress", (object?)egressJson ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        });
    }

    /// <summary>Deletes a network with its endpoints, published ports, leases and quarantine (ON DELETE CASCADE).</summary>
    public void DeleteNetwork(string name)
    {
        Write(() =>
        {
            using var cmd = Command("DELETE FROM networks WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.ExecuteNonQuery();
        });
    }

    // ---- endpoints ----

    public IReadOnlyList<EndpointRow> Endpoints(string network)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT network, name, transport, labels, created, aliases, default_route, egress, max_flows FROM endpoints WHERE network = $n ORDER BY created, name");
            cmd.Parameters.AddWithValue("$n", network);
            using var r = cmd.ExecuteReader();
            var list = new List<EndpointRow>();
            while (r.Read())
                list.Add(new EndpointRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r.GetString(4)), r.GetString(5), r.GetInt64(6) != 0,
                    r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetInt32(8)));
            return list;
        }
    }

    /// <summary>Records an attached endpoint, its reservation and its published ports in one
    /// transaction, taking over the reservation of <paramref name="evicted"/> (a long-detached
    /// endpoint) when the subnet was full.</summary>
    public void InsertEndpoint(EndpointRow e, LeaseRow lease, string? evicted = null, IReadOnlyList<string>? published = null)
    {
        Write(() =>
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
                INSERT INTO endpoints (network, name, transport, labels, created, aliases, default_route, egress, max_flows)
                VALUES ($network, $name, $transport, $labels, $created, $aliases, $route, $egress, $maxflows)
                """, tx))
            {
                cmd.Parameters.AddWithValue("$maxflows", (object?)e.MaxFlows ?? DBNull.Value);
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
        });
    }

    /// <summary>Whether an endpoint's lease gives a default route (another endpoint of the same guest took it).</summary>
    public void SetDefaultRoute(string network, string name, bool defaultRoute)
    {
        Write(() =>
        {
            using var cmd = Command("UPDATE endpoints SET default_route = $r WHERE network = $n AND name = $e");
            cmd.Parameters.AddWithValue("$r", defaultRoute ? 1 : 0);
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", name);
            cmd.ExecuteNonQuery();
        });
    }

    /// <summary>Deletes an endpoint with its published ports (ON DELETE CASCADE); its lease stays.</summary>
    public void DeleteEndpoint(string network, string name)
    {
        Write(() =>
        {
            using var cmd = Command("DELETE FROM endpoints WHERE network = $n AND name = $e");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", name);
            cmd.ExecuteNonQuery();
        });
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

    public void InsertPublishedPort(PublishedPortRow p) => Write(() => InsertPublishedPort(p, null));

    public void DeletePublishedPort(string network, string endpoint, string spec)
    {
        Write(() =>
        {
            using var cmd = Command("DELETE FROM published_ports WHERE network = $n AND endpoint = $e AND spec = $s");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", endpoint);
            cmd.Parameters.AddWithValue("$s", spec);
            cmd.ExecuteNonQuery();
        });
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
                list.Add(new LeaseRow(r.GetString(0), r.GetString(1), MacAddress.Parse(r.GetString(2)), Ipv4Address.Parse(r.GetString(3)),
                    StoredText.ParseLeaseStatus(r.GetString(4)),
                    r.IsDBNull(5) ? null : Time(r.GetString(5)), Time(r.GetString(6))));
            return list;
        }
    }

    public void UpsertLease(LeaseRow lease) => Write(() => UpsertLease(lease, null));

    public void DeleteLease(string network, string endpoint)
    {
        Write(() =>
        {
            using var cmd = Command("DELETE FROM leases WHERE network = $n AND endpoint = $e");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$e", endpoint);
            cmd.ExecuteNonQuery();
        });
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
        cmd.Parameters.AddWithValue("$mac", l.Mac.ToString());
        cmd.Parameters.AddWithValue("$ip", l.Ipv4.ToString());
        cmd.Parameters.AddWithValue("$state", StoredText.Of(l.State));
        cmd.Parameters.AddWithValue("$expires", l.Expires is { } x ? Text(x) : DBNull.Value);
        cmd.Parameters.AddWithValue("$used", Text(l.LastUsed));
        cmd.ExecuteNonQuery();
    }

    // ---- quarantine ----

    public IReadOnlyList<(Ipv4Address Ipv4, DateTimeOffset Until)> Quarantined(string network)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT ipv4, until FROM quarantine WHERE network = $n");
            cmd.Parameters.AddWithValue("$n", network);
            using var r = cmd.ExecuteReader();
            var list = new List<(Ipv4Address, DateTimeOffset)>();
            while (r.Read()) list.Add((Ipv4Address.Parse(r.GetString(0)), Time(r.GetString(1))));
            return list;
        }
    }

    public void Quarantine(string network, Ipv4Address ipv4, DateTimeOffset until)
    {
        Write(() =>
        {
            using var cmd = Command("INSERT INTO quarantine VALUES ($n, $ip, $until) ON CONFLICT (network, ipv4) DO UPDATE SET until = excluded.until");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$ip", ipv4.ToString());
            cmd.Parameters.AddWithValue("$until", Text(until));
            cmd.ExecuteNonQuery();
        });
    }

    // ---- plumbing ----

    /// <summary>Whether writes work: one report when the disk starts refusing them and one when
    /// it takes them again (see <see cref="StateWriteHealth"/>).</summary>
    public StateWriteHealth Health { get; } = new();

    /// <summary>One change under the lock. A disk that refuses it (full, read-only, failing) is a
    /// <see cref="StateUnwritableException"/> naming why; SQLite has rolled the change back, and
    /// the connection takes the next write once the disk does.</summary>
    private void Write(Action change)
    {
        lock (_lock)
        {
            try { change(); }
            catch (SqliteException e) when (StateUnwritableException.Classify(e) is { } fault)
            {
                var error = StateUnwritableException.From(fault, Path, e);
                Health.Failed(error);
                throw error;
            }
        }
        Health.Succeeded();
    }

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

    private static NetworkMode Mode(string text) =>
        StoredText.TryParseMode(text, out var mode) ? mode : throw new FormatException($"unknown network mode '{text}' in state.db");

    private static string Text(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
    private static DateTimeOffset Time(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public void Dispose()
    {
        lock (_lock)
        {
            // A full or read-only disk cannot take the checkpoint; the WAL keeps what it holds,
            // and the next open replays it.
            try { Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }
            catch (SqliteException e) when (StateUnwritableException.Classify(e) is not null) { }
            _db.Dispose();
        }
    }
}
