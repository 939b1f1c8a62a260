using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Switchyard.Daemon.State;

/// <summary>state.db's schema: its version is SQLite's user_version, and each migration moves it
/// up by one, in a transaction of its own. A database from any earlier Switchyard is brought up
/// to date at open; one from a newer Switchyard is refused (its columns would be lost).</summary>
internal static class Schema
{
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
        // 6: a network's IPv6 /64 (NULL: IPv4 only).
        "ALTER TABLE networks ADD COLUMN ipv6_prefix TEXT;",
        // 7: --max-flows, a network's NAT flow cap and an endpoint's own share (NULL: the default).
        """
        ALTER TABLE networks ADD COLUMN max_flows INTEGER;
        ALTER TABLE endpoints ADD COLUMN max_flows INTEGER;
        """,
        // 8: a network's VXLAN uplink (JSON StoredVxlan: VNI, local address, peers; NULL: none). Issue 14.
        "ALTER TABLE networks ADD COLUMN vxlan TEXT;",
        // 9 (issue 14; 8 is the vxlan column): a network's --dhcp-range (NULL: the default, the upper
        // half of the subnet when it has a tunnel), and the leases of its dynamic pool: clients with no
        // endpoint (guests behind a tunnel), known by MAC, with the DNS name their option 12 gave them.
        """
        ALTER TABLE networks ADD COLUMN dhcp_range TEXT;
        CREATE TABLE remote_leases (
            network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE, mac TEXT NOT NULL, ipv4 TEXT NOT NULL,
            host_name TEXT, state TEXT NOT NULL, expires TEXT NOT NULL, last_used TEXT NOT NULL,
            PRIMARY KEY (network, mac), UNIQUE (network, ipv4));
        """,
        // 10 (issue 14): host ports published to guests the network has no endpoint for (a remote
        // guest behind a VXLAN tunnel, known by the MAC of its pool lease); they go with their network.
        """
        CREATE TABLE remote_published_ports (
            network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE, spec TEXT NOT NULL, mac TEXT NOT NULL,
            created TEXT NOT NULL, PRIMARY KEY (network, spec));
        """,
    ];

    public static int Version => Migrations.Length;

    public static int ReadVersion(SqliteConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        return Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static void Migrate(SqliteConnection db, string path)
    {
        int version = ReadVersion(db);
        if (version > Migrations.Length)
            throw new InvalidOperationException($"{path} has schema version {version}, newer than this Switchyard understands ({Migrations.Length}); upgrade Switchyard");
        for (int v = version; v < Migrations.Length; v++)
        {
            using var tx = db.BeginTransaction();
            Exec(db, tx, Migrations[v]);
            Exec(db, tx, $"PRAGMA user_version = {v + 1}");
            tx.Commit();
        }
    }

    private static void Exec(SqliteConnection db, SqliteTransaction tx, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }
}
