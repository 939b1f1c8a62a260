using Switchyard.Network.Dhcp;
using Switchyard.Packets;

namespace Switchyard.Daemon.State;

// The dynamic pool's side of state.db: a network's --dhcp-range and the leases of clients with no
// endpoint (guests behind a VXLAN tunnel), one row per MAC, each address in one row only.
public sealed partial class StateStore
{
    /// <summary>A network's --dhcp-range (null: the default).</summary>
    public void UpdateNetworkDhcpRange(string name, string? range)
    {
        Write(() =>
        {
            using var cmd = Command("UPDATE networks SET dhcp_range = $r WHERE name = $name");
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$r", (object?)range ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        });
    }

    public IReadOnlyList<RemoteLeaseRow> RemoteLeases(string network)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT mac, ipv4, host_name, state, expires, last_used FROM remote_leases WHERE network = $n ORDER BY ipv4");
            cmd.Parameters.AddWithValue("$n", network);
            using var r = cmd.ExecuteReader();
            var list = new List<RemoteLeaseRow>();
            while (r.Read())
                list.Add(new RemoteLeaseRow(network, MacAddress.Parse(r.GetString(0)), Ipv4Address.Parse(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2),
                    StoredText.ParseLeaseStatus(r.GetString(3)), Time(r.GetString(4)), Time(r.GetString(5))));
            return list;
        }
    }

    /// <summary>Stores a pool lease; a row of another MAC on the same address (it moved) goes in the same transaction.</summary>
    public void UpsertRemoteLease(RemoteLeaseRow l)
    {
        Write(() =>
        {
            using var tx = _db.BeginTransaction();
            using (var del = Command("DELETE FROM remote_leases WHERE network = $n AND ipv4 = $ip AND mac <> $mac", tx))
            {
                del.Parameters.AddWithValue("$n", l.Network);
                del.Parameters.AddWithValue("$ip", l.Ipv4.ToString());
                del.Parameters.AddWithValue("$mac", l.Mac.ToString());
                del.ExecuteNonQuery();
            }
            using (var cmd = Command("""
                INSERT INTO remote_leases VALUES ($n, $mac, $ip, $host, $state, $expires, $used)
                ON CONFLICT (network, mac) DO UPDATE SET ipv4 = excluded.ipv4, host_name = excluded.host_name, state = excluded.state,
                    expires = excluded.expires, last_used = excluded.last_used
                """, tx))
            {
                cmd.Parameters.AddWithValue("$n", l.Network);
                cmd.Parameters.AddWithValue("$mac", l.Mac.ToString());
                cmd.Parameters.AddWithValue("$ip", l.Ipv4.ToString());
                cmd.Parameters.AddWithValue("$host", (object?)l.HostName ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$state", StoredText.Of(l.State));
                cmd.Parameters.AddWithValue("$expires", Text(l.Expires));
                cmd.Parameters.AddWithValue("$used", Text(l.LastUsed));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        });
    }

    public void DeleteRemoteLease(string network, MacAddress mac)
    {
        Write(() =>
        {
            using var cmd = Command("DELETE FROM remote_leases WHERE network = $n AND mac = $mac");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$mac", mac.ToString());
            cmd.ExecuteNonQuery();
        });
    }
}
