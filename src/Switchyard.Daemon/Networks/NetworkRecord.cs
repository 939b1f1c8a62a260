using Switchyard.Daemon.State;
using Switchyard.Network;

namespace Switchyard.Daemon.Networks;

internal sealed class NetworkRecord
{
    /// <summary>As stored; replaced (under the directory's gate) when the egress policy is edited.</summary>
    public required NetworkRow Row { get; set; }
    public required VirtualNetwork Live { get; init; }
    public required IReadOnlyList<string> DnsUpstreams { get; init; }
    /// <summary>No upstreams of its own: the network asks the host's resolvers and follows their changes.</summary>
    public bool FollowsHostResolvers { get; init; }
    /// <summary>A bridged network restored without its uplink: why.</summary>
    public string? UplinkError { get; set; }
    public Dictionary<string, EndpointRecord> Endpoints { get; } = new(StringComparer.Ordinal);
}
