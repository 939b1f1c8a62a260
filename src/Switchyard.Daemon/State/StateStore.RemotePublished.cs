using Switchyard.Packets;

namespace Switchyard.Daemon.State;

// Host ports published to a network's remote guests (guests behind a VXLAN tunnel, with a pool
// lease and no endpoint): one row per spec, keyed by the network, going with it.
public sealed partial class StateStore
{
    public IReadOnlyList<RemotePublishedPortRow> RemotePublishedPorts(string network)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT spec, mac, created FROM remote_published_ports WHERE network = $n ORDER BY rowid");
            cmd.Parameters.AddWithValue("$n", network);
            using var r = cmd.ExecuteReader();
            var list = new List<RemotePublishedPortRow>();
            while (r.Read()) list.Add(new RemotePublishedPortRow(network, r.GetString(0), MacAddress.Parse(r.GetString(1)), Time(r.GetString(2))));
            return list;
        }
    }

    public void InsertRemotePublishedPort(RemotePublishedPortRow p)
    {
        Write(() =>
        {
            using var cmd = Command("INSERT INTO remote_published_ports (network, spec, mac, created) VALUES ($n, $s, $mac, $created)");
            cmd.Parameters.AddWithValue("$n", p.Network);
            cmd.Parameters.AddWithValue("$s", p.Spec);
            cmd.Parameters.AddWithValue("$mac", p.Mac.ToString());
            cmd.Parameters.AddWithValue("$created", Text(p.Created));
            cmd.ExecuteNonQuery();
        });
    }

    public void DeleteRemotePublishedPort(string network, string spec)
    {
        Write(() =>
        {
            using var cmd = Command("DELETE FROM remote_published_ports WHERE network = $n AND spec = $s");
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$s", spec);
            cmd.ExecuteNonQuery();
        });
    }
}
