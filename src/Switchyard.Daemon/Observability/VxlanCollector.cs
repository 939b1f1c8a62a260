using Switchyard.Network.Vxlan;

namespace Switchyard.Daemon.Observability;

/// <summary>Each VXLAN tunnel's counters (networks with one, up): datagrams and bytes each way,
/// replicated frames, learnt MACs, drops by reason and datagrams per peer. Families are written
/// even with no tunnel, so a dashboard's queries find them.</summary>
internal sealed class VxlanCollector : IMetricsCollector
{
    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        var tunnels = view.Networks
            .Select(n => (n.Name, Tunnel: n.Live.Uplink?.Transport as IVxlanTunnel))
            .Where(t => t.Tunnel is not null)
            .Select(t => (t.Name, Counters: t.Tunnel!.Counters))
            .ToList();

        w.Family("switchyard_vxlan_datagrams_total", MetricType.Counter, "VXLAN datagrams through a network's tunnel, by direction (in: taken from peers, out: sent).");
        foreach (var (name, c) in tunnels)
        {
            w.Sample(c.DatagramsIn, new Label("network", name), new Label("direction", "in"));
            w.Sample(c.DatagramsOut, new Label("network", name), new Label("direction", "out"));
        }
        w.Family("switchyard_vxlan_bytes_total", MetricType.Counter, "VXLAN datagram bytes through a network's tunnel, by direction.");
        foreach (var (name, c) in tunnels)
        {
            w.Sample(c.BytesIn, new Label("network", name), new Label("direction", "in"));
            w.Sample(c.BytesOut, new Label("network", name), new Label("direction", "out"));
        }
        w.Family("switchyard_vxlan_replicated_total", MetricType.Counter, "Frames sent to every peer (broadcast, multicast, unknown unicast: head-end replication).");
        foreach (var (name, c) in tunnels) w.Sample(c.Replicated, new Label("network", name));
        w.Family("switchyard_vxlan_learnt_macs", MetricType.Gauge, "Remote MACs learnt behind a peer now.");
        foreach (var (name, c) in tunnels) w.Sample(c.LearntMacs, new Label("network", name));
        w.Family("switchyard_vxlan_drops_total", MetricType.Counter,
            "Datagrams or frames the tunnel dropped, by reason (not-a-peer, wrong-vni, malformed, bad-flags, too-big, local-source).");
        foreach (var (name, c) in tunnels)
            foreach (var (reason, count) in VxlanDrops.ByReason(c))
                w.Sample(count, new Label("network", name), new Label("reason", reason));
        // The gateway host's anti-spoofing of what the tunnel brings (docs/dhcp-pool.md): the uplink port's drops.
        w.Family("switchyard_vxlan_guard_drops_total", MetricType.Counter,
            "Frames from a gateway host's tunnel dropped by its anti-spoofing before the switch, by reason (spoofed-mac, spoofed-ip, policy, malformed).");
        foreach (var n in view.Networks)
            if (n.Live.Config.Mode != Switchyard.Network.NetworkMode.Bridged && n.Live.Uplink is { Transport: IVxlanTunnel } uplink)
                foreach (var (reason, count) in uplink.Counters.DropsByReason())
                    if (reason is not ("oversize" or "transmit-failed")) w.Sample(count, new Label("network", n.Name), new Label("reason", reason));
        w.Family("switchyard_vxlan_peer_datagrams_total", MetricType.Counter, "Datagrams sent to each peer (ADDR:PORT).");
        foreach (var (name, c) in tunnels)
            foreach (var (peer, sent) in c.SentPerPeer.OrderBy(p => p.Key, StringComparer.Ordinal))
                w.Sample(sent, new Label("network", name), new Label("peer", peer));
    }
}
