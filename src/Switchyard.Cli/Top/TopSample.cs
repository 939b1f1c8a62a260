using Switchyard.Client;

namespace Switchyard.Cli.Top;

/// <summary>What the daemon said at one moment: the input of <see cref="TopRates"/>. Counters are
/// totals since each endpoint was attached; rates come from the difference of two samples.</summary>
/// <param name="Time">Wall-clock time of the sample, for display.</param>
/// <param name="Clock">Monotonic time of the sample (time since the sampler started): what rates
/// divide by, so a wall-clock step cannot make a rate negative or huge.</param>
internal sealed record TopSample(DateTimeOffset Time, TimeSpan Clock, IReadOnlyList<NetworkSample> Networks);

/// <param name="Egress">The newest egress decisions of the network's audit log, oldest first.</param>
/// <param name="Flows">The NAT's flows (empty for a network without one).</param>
internal sealed record NetworkSample(NetworkInfo Network, IReadOnlyList<EndpointInfo> Endpoints, IReadOnlyList<EgressEvent> Egress,
    IReadOnlyList<FlowInfo> Flows);
