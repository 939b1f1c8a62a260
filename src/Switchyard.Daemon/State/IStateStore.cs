using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.State;

/// <summary>What the control plane keeps in state.db. <see cref="StateStore"/> is the SQLite one;
/// tests wrap it (e.g. a store whose writes hang) to show what waits on the disk and what does not.</summary>
public interface IStateStore : IDisposable
{
    string Path { get; }

    /// <summary>Whether writes work; a write the disk refuses throws <see cref="StateUnwritableException"/>.</summary>
    StateWriteHealth Health { get; }

    IReadOnlyList<NetworkRow> Networks();
    void InsertNetwork(NetworkRow n);
    void UpdateNetworkMode(string name, NetworkMode mode, string? bridgeInterface, bool hostLoopback);
    void UpdateNetworkMaxFlows(string name, int? maxFlows);
    void UpdateNetworkEgress(string name, string? egressJson);
    void UpdateNetworkVxlan(string name, string? vxlanJson);
    void DeleteNetwork(string name);

    IReadOnlyList<EndpointRow> Endpoints(string network);
    void InsertEndpoint(EndpointRow e, LeaseRow lease, string? evicted = null, IReadOnlyList<string>? published = null);
    void SetDefaultRoute(string network, string name, bool defaultRoute);
    void DeleteEndpoint(string network, string name);

    IReadOnlyList<PublishedPortRow> PublishedPorts(string network, string endpoint);
    void InsertPublishedPort(PublishedPortRow p);
    void DeletePublishedPort(string network, string endpoint, string spec);

    /// <summary>Host ports published to a network's remote guests (by lease MAC), in the order published.</summary>
    IReadOnlyList<RemotePublishedPortRow> RemotePublishedPorts(string network);
    void InsertRemotePublishedPort(RemotePublishedPortRow p);
    void DeleteRemotePublishedPort(string network, string spec);

    IReadOnlyList<LeaseRow> Leases(string network);
    void UpsertLease(LeaseRow lease);
    void DeleteLease(string network, string endpoint);

    /// <summary>A network's --dhcp-range (null: the default).</summary>
    void UpdateNetworkDhcpRange(string name, string? range);

    /// <summary>Leases of the dynamic pool (clients with no endpoint), by MAC.</summary>
    IReadOnlyList<RemoteLeaseRow> RemoteLeases(string network);
    void UpsertRemoteLease(RemoteLeaseRow lease);
    void DeleteRemoteLease(string network, MacAddress mac);

    IReadOnlyList<(Ipv4Address Ipv4, DateTimeOffset Until)> Quarantined(string network);
    void Quarantine(string network, Ipv4Address ipv4, DateTimeOffset until);
}
