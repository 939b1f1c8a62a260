using Microsoft.Data.Sqlite;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.Tests.Infrastructure;

/// <summary>A state store on a disk that fills up: while <see cref="Full"/> is set, every write
/// fails as SQLite fails on a full filesystem (SQLITE_FULL), before reaching the real store;
/// reads go through. Its <see cref="Health"/> sees writes as the real store's would.</summary>
internal sealed class FullStore(IStateStore inner) : IStateStore
{
    private volatile bool _full;
    private int _refused;

    public bool Full { get => _full; set => _full = value; }

    /// <summary>Writes refused so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public StateWriteHealth Health { get; } = new();

    private void Write(Action write)
    {
        if (_full)
        {
            Interlocked.Increment(ref _refused);
            var error = StateUnwritableException.From(StateFault.Full, Path, new SqliteException("database or disk is full", 13));
            Health.Failed(error);
            throw error;
        }
        write();
        Health.Succeeded();
    }

    public string Path => inner.Path;
    public IReadOnlyList<NetworkRow> Networks() => inner.Networks();
    public void InsertNetwork(NetworkRow n) => Write(() => inner.InsertNetwork(n));
    public void UpdateNetworkMode(string name, NetworkMode mode, string? bridgeInterface, bool hostLoopback) => Write(() => inner.UpdateNetworkMode(name, mode, bridgeInterface, hostLoopback));
    public void UpdateNetworkMaxFlows(string name, int? maxFlows) => Write(() => inner.UpdateNetworkMaxFlows(name, maxFlows));
    public void UpdateNetworkEgress(string name, string? egressJson) => Write(() => inner.UpdateNetworkEgress(name, egressJson));
    public void UpdateNetworkVxlan(string name, string? vxlanJson) => Write(() => inner.UpdateNetworkVxlan(name, vxlanJson));
    public void DeleteNetwork(string name) => Write(() => inner.DeleteNetwork(name));
    public IReadOnlyList<EndpointRow> Endpoints(string network) => inner.Endpoints(network);
    public void InsertEndpoint(EndpointRow e, LeaseRow lease, string? evicted = null, IReadOnlyList<string>? published = null) => Write(() => inner.InsertEndpoint(e, lease, evicted, published));
    public void SetDefaultRoute(string network, string name, bool defaultRoute) => Write(() => inner.SetDefaultRoute(network, name, defaultRoute));
    public void DeleteEndpoint(string network, string name) => Write(() => inner.DeleteEndpoint(network, name));
    public IReadOnlyList<PublishedPortRow> PublishedPorts(string network, string endpoint) => inner.PublishedPorts(network, endpoint);
    public void InsertPublishedPort(PublishedPortRow p) => Write(() => inner.InsertPublishedPort(p));
    public void DeletePublishedPort(string network, string endpoint, string spec) => Write(() => inner.DeletePublishedPort(network, endpoint, spec));
    public IReadOnlyList<RemotePublishedPortRow> RemotePublishedPorts(string network) => inner.RemotePublishedPorts(network);
    public void InsertRemotePublishedPort(RemotePublishedPortRow p) => Write(() => inner.InsertRemotePublishedPort(p));
    public void DeleteRemotePublishedPort(string network, string spec) => Write(() => inner.DeleteRemotePublishedPort(network, spec));
    public IReadOnlyList<LeaseRow> Leases(string network) => inner.Leases(network);
    public void UpsertLease(LeaseRow lease) => Write(() => inner.UpsertLease(lease));
    public void DeleteLease(string network, string endpoint) => Write(() => inner.DeleteLease(network, endpoint));
    public void UpdateNetworkDhcpRange(string name, string? range) => Write(() => inner.UpdateNetworkDhcpRange(name, range));
    public IReadOnlyList<RemoteLeaseRow> RemoteLeases(string network) => inner.RemoteLeases(network);
    public void UpsertRemoteLease(RemoteLeaseRow lease) => Write(() => inner.UpsertRemoteLease(lease));
    public void DeleteRemoteLease(string network, MacAddress mac) => Write(() => inner.DeleteRemoteLease(network, mac));
    public IReadOnlyList<(Ipv4Address Ipv4, DateTimeOffset Until)> Quarantined(string network) => inner.Quarantined(network);
    public void Quarantine(string network, Ipv4Address ipv4, DateTimeOffset until) => Write(() => inner.Quarantine(network, ipv4, until));
    public void Dispose() => inner.Dispose();
}
