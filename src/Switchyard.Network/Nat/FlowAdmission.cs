namespace Switchyard.Network.Nat;

/// <summary>
/// Whether a new NAT flow may open, by count: the endpoint's share, the network's table (all
/// protocols, and each protocol's own), the daemon's <see cref="FdBudget"/>, and the endpoint's
/// new-flow rate, taken in that order and given back in full when any one says no. Every count is
/// bounded by compare-and-swap (<see cref="Bounded"/>): a cap holds exactly with any number of
/// threads opening flows at once, and a flow holds its place from before its socket opens until
/// after it has left its table. Defaults: docs/nat.md ("Fair shares").
/// </summary>
internal sealed class FlowAdmission(FdBudget fds)
{
    /// <summary>Flows per network, all protocols: the default of <c>--max-flows</c>.</summary>
    public const int DefaultMaxFlows = 16384;
    /// <summary>New flows per second an endpoint may open, after a burst of as many. It bounds a
    /// guest's churn, not what it holds (the counts do that), so it sits above what a busy client
    /// really opens: the bench's connection-per-request load makes 6,000-16,000 a second through
    /// this NAT or a veth, and a lower pace would cut that workload rather than a flood.</summary>
    public const int DefaultNewFlowsPerSecond = 20_000;

    private readonly int[] _count = new int[3];
    private readonly int[] _protocolMax = [DefaultMaxFlows, NatEngine.DefaultMaxUdpFlows, NatEngine.DefaultMaxIcmpFlows];
    private int _total, _maxFlows = DefaultMaxFlows, _rate = DefaultNewFlowsPerSecond;

    public FdBudget Fds { get; } = fds;

    /// <summary>The network's cap as configured (the daemon's fd budget may hold it lower: <see cref="EffectiveMaxFlows"/>).</summary>
    public int MaxFlows
    {
        get => Volatile.Read(ref _maxFlows);
        set => Volatile.Write(ref _maxFlows, Math.Max(1, value));
    }

    /// <summary>The network's cap in force: its own, but never more than half the daemon's fd budget.</summary>
    public int EffectiveMaxFlows => Math.Min(MaxFlows, Fds.NetworkShare);

    public int NewFlowsPerSecond
    {
        get => Volatile.Read(ref _rate);
        set => Volatile.Write(ref _rate, Math.Max(1, value));
    }

    public int Total => Volatile.Read(ref _total);

    public int Count(NatProtocol protocol) => Volatile.Read(ref _count[(int)protocol]);

    /// <summary>A protocol's own table size (UDP and ICMP have smaller ones than the network's cap).</summary>
    public int ProtocolMax(NatProtocol protocol) => Math.Min(Volatile.Read(ref _protocolMax[(int)protocol]), EffectiveMaxFlows);

    public void SetProtocolMax(NatProtocol protocol, int max) => Volatile.Write(ref _protocolMax[(int)protocol], Math.Max(1, max));

    /// <summary>The most <paramref name="share"/> may hold, all protocols: its own cap, or a quarter of the network's.</summary>
    public int EndpointMax(FlowShare share) => share.MaxFlows is > 0 and var own ? own : Math.Max(1, EffectiveMaxFlows / 4);

    /// <summary>The most of one protocol <paramref name="share"/> may hold: a quarter of that protocol's
    /// table by default; an endpoint with its own cap may use the whole table up to that cap.</summary>
    public int EndpointProtocolMax(FlowShare share, NatProtocol protocol) =>
        share.MaxFlows > 0 ? ProtocolMax(protocol) : Math.Max(1, ProtocolMax(protocol) / 4);

    /// <summary>Takes a place for a new flow of <paramref name="protocol"/> from <paramref name="share"/>'s
    /// endpoint at <paramref name="now"/> (ticks), or says why not. A place taken is given back with <see cref="Release"/>.</summary>
    public FlowRefusal TryAdmit(FlowShare share, NatProtocol protocol, long now)
    {
        if (!share.TryTake(protocol, EndpointMax(share), EndpointProtocolMax(share, protocol))) return FlowRefusal.EndpointLimit;
        if (!Bounded.TryIncrement(ref _total, EffectiveMaxFlows))
        {
            share.Return(protocol);
            return FlowRefusal.NetworkLimit;
        }
        if (!Bounded.TryIncrement(ref _count[(int)protocol], ProtocolMax(protocol)))
        {
            Interlocked.Decrement(ref _total);
            share.Return(protocol);
            return FlowRefusal.NetworkLimit;
        }
        if (!Fds.TryTake())
        {
            ReleaseCounts(share, protocol);
            return FlowRefusal.FdBudget;
        }
        // The rate last: a flow refused for room spends none of the endpoint's pace.
        if (!share.TryPace(now, TimeSpan.TicksPerSecond / NewFlowsPerSecond, NewFlowsPerSecond))
        {
            Release(share, protocol);
            return FlowRefusal.Rate;
        }
        return FlowRefusal.None;
    }

    /// <summary>Gives back the place of a flow that has left its table (or never entered it).</summary>
    public void Release(FlowShare share, NatProtocol protocol)
    {
        Fds.Return();
        ReleaseCounts(share, protocol);
    }

    private void ReleaseCounts(FlowShare share, NatProtocol protocol)
    {
        Interlocked.Decrement(ref _count[(int)protocol]);
        Interlocked.Decrement(ref _total);
        share.Return(protocol);
    }
}
