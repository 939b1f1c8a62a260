namespace Switchyard.Network.Nat;

// The flow tables as a list, for the API's /flows and the dashboard: read without the flows' locks.
public sealed partial class NatEngine
{
    /// <summary>Up to <paramref name="max"/> flows (TCP, then UDP, then ICMP echo), each as it was
    /// when read. The tables are concurrent dictionaries: walking them takes no lock a guest's frame
    /// waits on, and a flow opened or closed meanwhile may or may not be in the list.</summary>
    public IReadOnlyList<NatFlowSnapshot> SnapshotFlows(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var flows = new List<NatFlowSnapshot>(Math.Min(max, TcpFlowCount + UdpFlowCount + IcmpFlowCount));
        long now = NowTicks;
        foreach (var entry in _tcp)
        {
            if (flows.Count >= max) return flows;
            flows.Add(entry.Value.Snapshot(now));
        }
        foreach (var entry in _udp)
        {
            if (flows.Count >= max) return flows;
            flows.Add(entry.Value.Snapshot(NatProtocol.Udp, now));
        }
        foreach (var entry in _icmp)
        {
            if (flows.Count >= max) return flows;
            flows.Add(entry.Value.Snapshot(NatProtocol.Icmp, now));
        }
        return flows;
    }
}
