using Switchyard.Daemon.State;
using Switchyard.Network;

namespace Switchyard.Daemon.Control;

/// <summary>A network the daemon runs: its stored row and its live <see cref="VirtualNetwork"/>.
/// Changed only under the gate; see <see cref="NetworkRegistry"/> for who may read what.</summary>
internal sealed class NetworkRecord
{
    /// <summary>As stored; replaced (under the gate) when the egress policy is edited.</summary>
    public required NetworkRow Row { get; set; }
    public required VirtualNetwork Live { get; init; }
    public required IReadOnlyList<string> DnsUpstreams { get; init; }
    /// <summary>No upstreams of its own: the network asks the host's resolvers and follows their changes.</summary>
    public bool FollowsHostResolvers { get; init; }
    /// <summary>A bridged network restored without its uplink, or a network without its VXLAN tunnel: why.</summary>
    public string? UplinkError { get; set; }
    /// <summary>The network's VXLAN uplink as stored (null: none); follows <see cref="Row"/>.</summary>
    public StoredVxlan? Vxlan => StoredVxlan.FromJson(Row.VxlanJson);
    /// <summary>A bridged network whose uplink is its tunnel (bridged:vxlan): it joins another host's network.</summary>
    public bool JoinsOverVxlan => Row.Mode == NetworkMode.Bridged && Row.BridgeInterface is null && Row.VxlanJson is not null;
    /// <summary>The live tunnel (null: none, or it could not be opened at restore).</summary>
    public Network.Vxlan.IVxlanTunnel? Tunnel => Live.Uplink?.Transport as Network.Vxlan.IVxlanTunnel;
    public NetworkMode Mode => Live.Config.Mode;
    public Dictionary<string, EndpointRecord> Endpoints { get; } = new(StringComparer.Ordinal);
    /// <summary>Host ports published to remote guests (no endpoint: a pool lease behind the tunnel), in the
    /// order published; changed and read like <see cref="EndpointRecord.Published"/> (see <see cref="NetworkRegistry"/>).</summary>
    public List<RemotePublishedRecord> RemotePublished { get; } = [];
}

/// <summary>One host port published to a remote guest, known by its lease's MAC: listening
/// (<see cref="Handle"/>), or not, with the reason (restored while the host port was taken).</summary>
internal sealed class RemotePublishedRecord
{
    public required Network.Nat.PublishedPort Spec { get; init; }
    public required Packets.MacAddress Mac { get; init; }
    public IDisposable? Handle { get; set; }
    public string? Error { get; set; }
    public string Text => Spec.ToString();
}

/// <summary>An endpoint with the network it is attached to.</summary>
internal readonly record struct EndpointRef(NetworkRecord Network, EndpointRecord Endpoint);
