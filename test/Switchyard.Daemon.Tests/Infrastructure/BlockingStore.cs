using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.Tests.Infrastructure;

/// <summary>A state store whose writes hang while <see cref="Block"/> is in force (a disk that
/// stopped answering); reads go through. Every write waits until <see cref="Unblock"/>.</summary>
internal sealed class BlockingStore(IStateStore inner) : IStateStore
{
    private readonly ManualResetEventSlim _open = new(true);
    private int _waiting;

    /// <summary>Writes that are hanging right now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public void Block() => _open.Reset();
    public void Unblock() => _open.Set();

    private void Write()
    {
        Interlocked.Increment(ref _waiting);
        try { _open.Wait(); }
        finally { Interlocked.Decrement(ref _waiting); }
    }

    public string Path => inner.Path;
    public StateWriteHealth Health => inner.Health;
    public IReadOnlyList<NetworkRow> Networks() => inner.Networks();
    public void InsertNetwork(NetworkRow n) { Write(); inner.InsertNetwork(n); }
    public void UpdateNetworkMode(string name, NetworkMode mode, string? bridgeInterface, bool hostLoopback) { Write(); inner.UpdateNetworkMode(name, mode, bridgeInterface, hostLoopback); }
    public void UpdateNetworkMaxFlows(string name, int? maxFlows) { Write(); inner.UpdateNetworkMaxFlows(name, maxFlows); }
    public void UpdateNetworkEgress(string name, string? egressJson) { Write(); inner.UpdateNetworkEgress(name, egressJson); }
    public void UpdateNetworkVxlan(string name, string? vxlanJson) { Write(); inner.UpdateNetworkVxlan(name, vxlanJson); }
    public void DeleteNetwork(string name) { Write(); inner.DeleteNetwork(name); }
    public IReadOnlyList<EndpointRow> Endpoints(string network) => inner.Endpoints(network);
    public void InsertEndpoint(EndpointRow e, LeaseRow lease, string? evicted = null, IReadOnlyList<string>? published = null) { Write(); inner.InsertEndpoint(e, lease, evicted, published); }
    public void SetDefaultRoute(string network, string name, bool defaultRoute) { Write(); inner.SetDefaultRoute(network, name, defaultRoute); }
    public void DeleteEndpoint(string network, string name) { Write(); inner.DeleteEndpoint(network, name); }
    public IReadOnlyList<PublishedPortRow> PublishedPorts(string network, string endpoint) => inner.PublishedPorts(network, endpoint);
    public void InsertPublishedPort(PublishedPortRow p) { Write(); inner.InsertPublishedPort(p); }
    public void DeletePublishedPort(string network, string endpoint, string spec) { Write(); inner.DeletePublishedPort(network, endpoint, spec); }
    public IReadOnlyList<RemotePublishedPortRow> RemotePublishedPorts(string network) => inner.RemotePublishedPorts(network);
    public void InsertRemotePublishedPort(RemotePublishedPortRow p) { Write(); inner.InsertRemotePublishedPort(p); }
    public void DeleteRemotePublishedPort(string network, string spec) { Write(); inner.DeleteRemotePublishedPort(network, spec); }
    public IReadOnlyList<LeaseRow> Leases(string network) => inner.Leases(network);
    public void UpsertLease(LeaseRow lease) { Write(); inner.UpsertLease(lease); }
    public void DeleteLease(string network, string endpoint) { Write(); inner.DeleteLease(network, endpoint); }
    public void UpdateNetworkDhcpRange(string name, string? range) { Write(); inner.UpdateNetworkDhcpRange(name, range); }
    public IReadOnlyList<RemoteLeaseRow> RemoteLeases(string network) => inner.RemoteLeases(network);
    public void UpsertRemoteLease(RemoteLeaseRow lease) { Write(); inner.UpsertRemoteLease(lease); }
    public void DeleteRemoteLease(string network, MacAddress mac) { Write(); inner.DeleteRemoteLease(network, mac); }
    public IReadOnlyList<(Ipv4Address Ipv4, DateTimeOffset Until)> Quarantined(string network) => inner.Quarantined(network);
    public void Quarantine(string network, Ipv4Address ipv4, DateTimeOffset until) { Write(); inner.Quarantine(network, ipv4, until); }
    public void Dispose() { Unblock(); inner.Dispose(); }
}

/// <summary>A host without routes or interfaces to bridge to: plans depend on nothing of the machine's.</summary>
internal sealed class EmptyHost : Switchyard.Daemon.Planning.IHostView
{
    public Switchyard.Platform.HostInterface BridgeInterface(string? name) =>
        throw Switchyard.Daemon.Control.ControlException.Invalid($"cannot bridge to '{name}': the host has no such interface (see yard interfaces)");
    public IReadOnlyList<(uint Network, int PrefixLength, string Interface)> Ipv4Routes() => [];
    public IReadOnlyList<(Ipv6Prefix Prefix, string Interface)> Ipv6Routes() => [];
    public int? UnderlayMtu(System.Net.IPAddress destination) => null;
}
