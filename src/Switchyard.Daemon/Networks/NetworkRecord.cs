using Switchyard.Daemon.State;
using Switchyard.Network;

namespace Switchyard.Daemon.Networks;

internal sealed class NetworkRecord
{
    public required NetworkRow Row { get; init; }
    public required VirtualNetwork Live { get; init; }
    public required IReadOnlyList<string> DnsUpstreams { get; init; }
    public Dictionary<string, EndpointRecord> Endpoints { get; } = new(StringComparer.Ordinal);
}
