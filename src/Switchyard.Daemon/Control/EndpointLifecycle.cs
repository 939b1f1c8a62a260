using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Transports;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

/// <summary>Makes a live transport for a checked endpoint (a listening socket, a TAP, or one end of a socket pair).</summary>
internal delegate IFrameTransport TransportMaker(StoredTransport transport, EndpointConfig endpoint, NetworkConfig network);

/// <summary>Endpoints: attach (all or nothing), detach, and restore at startup. Callers hold the
/// gate (see <see cref="NetworkRegistry"/>).</summary>
internal sealed class EndpointLifecycle(NetworkRegistry registry, IStateStore store, TransportFactory transports, PublishedPorts ports,
    TimeProvider time, ILogger logger)
{
    public TransportFactory Transports => transports;

    /// <summary>A random, locally administered unicast MAC. The bytes come from Guid.NewGuid, which on Linux
    /// and macOS reads the system's cryptographically secure source (getrandom/arc4random) as
    /// RandomNumberGenerator does, but without loading OpenSSL, which RandomNumberGenerator does on Linux
    /// (about 4 MB of resident memory for six bytes; issue 15). Bytes 0-5 of a version-4 GUID are all random
    /// (the version and variant bits are in bytes 7 and 8 of its layout).</summary>
    internal static MacAddress RandomMac()
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.NewGuid().TryWriteBytes(bytes);
        return MacAddress.LocallyAdministered(bytes[..6]);
    }

    /// <summary>Attaches an endpoint: everything is checked and chosen first, then the transport,
    /// the namespace's resolv.conf, the host ports and the store change; a failure undoes all of it.</summary>
    public EndpointRef Attach(string network, EndpointAttachRequest r, TransportMaker makeTransport)
    {
        var net = registry.Find(network);
        var target = Target(net);
        var shape = EndpointPlanner.Shape(r, target, t => Siblings(t).Select(s => new SiblingNic(s.Endpoint.Transport.Ifname,
            s.Endpoint.Port?.DefaultRoute ?? s.Endpoint.Config.DefaultRoute)).ToList());
        var transport = shape.Transport;
        var publish = ports.CheckForAttach(net, r.Publish ?? []);
        // Guests of networks bridged to the same interface share one LAN: a MAC may be on one of them only.
        var lanMacs = target.Bridged ? MacsOnLan(net) : [];
        var leases = store.Leases(network);
        var quarantined = EndpointPlanner.Quarantined(store.Quarantined(network), time.GetUtcNow());
        var (mac, ip, evicted, previous) = EndpointPlanner.ChooseAddresses(r, target, leases, quarantined, lanMacs,
            RandomMac);

        int? maxFlows = NetworkPlanner.CheckMaxFlows(r.MaxFlows, "--max-flows");
        var config = new EndpointConfig(r.Name, mac, target.Bridged ? default : ip, transport.LearnMac, shape.Aliases, shape.DefaultRoute, shape.Egress,
            maxFlows ?? 0);
        var row = new EndpointRow(network, r.Name, transport.ToJson(),
            JsonSerializer.Serialize(new Dictionary<string, string>(r.Labels ?? new Dictionary<string, string>()), DaemonJsonContext.Default.DictionaryStringString),
            time.GetUtcNow(), JsonSerializer.Serialize(shape.Aliases.ToList(), DaemonJsonContext.Default.ListString), shape.DefaultRoute,
            StoredEgressPolicy.ToJson(shape.Egress), maxFlows);
        var lease = new LeaseRow(network, r.Name, mac, ip,
            previous is not null && previous.Ipv4 == ip ? previous.State : LeaseStatus.Reserved, previous?.Expires, time.GetUtcNow());

        // Siblings before this endpoint joins them: an explicit --default-route takes it from them.
        var siblings = r.DefaultRoute == true ? Siblings(transport) : [];
        var live = makeTransport(transport, config, net.Live.Config);
        var record = new EndpointRecord { Row = row, Transport = transport, Config = config };
        var published = new List<PublishedRecord>();
        bool committed = false;
        try
        {
            // Everything that can fail comes before the commit (the host ports too: a port
            // that is taken fails the attach); the record is published before the transport
            // starts, so the data plane's first callbacks find it.
            if (transport.Configure) ResolvConfWriter.Write(net, record);
            foreach (var spec in publish) published.Add(new PublishedRecord { Spec = spec, Handle = PublishedPorts.Listen(net, r.Name, spec) });
            store.InsertEndpoint(row, lease, evicted, published.Select(p => p.Text).ToList());
            committed = true;
            registry.Write(() =>
            {
                record.Published.AddRange(published);
                net.Endpoints[r.Name] = record;
            });
            record.Port = net.Live.Attach(config, live);
            foreach (var (otherNet, other) in siblings) SetDefaultRoute(otherNet, other, false);
        }
        catch (Exception e)
        {
            // Roll back whole: no half-attached endpoint in the store, the switch, the namespace or the host's ports.
            foreach (var p in published) p.Handle?.Dispose();
            registry.Write(() => net.Endpoints.Remove(r.Name));
            net.Live.Detach(r.Name);
            TransportFactory.Destroy(live, transport);
            ResolvConfWriter.Remove(record);
            if (committed)
            {
                store.DeleteEndpoint(network, r.Name);
                if (previous is not null) store.UpsertLease(previous); else store.DeleteLease(network, r.Name);
                if (evicted is not null && leases.FirstOrDefault(l => l.Endpoint == evicted) is { } old) store.UpsertLease(old);
            }
            if (e is IOException or UnauthorizedAccessException)
                throw ControlException.Invalid($"cannot attach '{r.Name}': {e.Message}");
            throw;
        }
        DirectoryLog.EndpointAttached(logger, network, r.Name, ip.ToString(), mac.ToString(), TransportPlanner.ToSpec(transport).Kind);
        foreach (var p in published) DirectoryLog.PortPublished(logger, network, r.Name, p.Text);
        return new(net, record);
    }

    /// <param name="keepReservation">False when the address is not ours to keep: Docker's IPAM gave it
    /// and takes it back with the endpoint (its next container may get it under another endpoint name).</param>
    public void Detach(string network, string name, bool keepReservation = true)
    {
        var (net, e) = registry.FindEndpoint(network, name);
        // Stored first: a disk that refuses the change (StateUnwritableException) leaves the
        // endpoint attached and working, as the store still has it.
        store.DeleteEndpoint(network, name);   // and its published ports
        var lease = store.Leases(network).FirstOrDefault(l => l.Endpoint == name);
        if (lease is not null)
        {
            try
            {
                if (keepReservation) store.UpsertLease(lease with { LastUsed = time.GetUtcNow() });
                else store.DeleteLease(network, name);
            }
            catch (StateUnwritableException) { }   // only the reservation: the detach stands
        }
        ports.StopListening(e);   // its host ports close first: no new client for a guest that is leaving
        if (net.Live.Detach(name) is { } port) TransportFactory.Destroy(port.Transport, e.Transport);
        ResolvConfWriter.Remove(e);
        registry.Write(() => net.Endpoints.Remove(name));
        DirectoryLog.EndpointDetached(logger, network, name);
    }

    /// <summary>Brings a stored endpoint back; one whose transport cannot come back stays, "down", with the reason.</summary>
    public void Restore(NetworkRecord net, EndpointRow row)
    {
        var transport = StoredTransport.FromJson(row.TransportJson);
        var lease = store.Leases(net.Row.Name).FirstOrDefault(l => l.Endpoint == row.Name);
        // A handed-over socket pair died with the previous daemon: the VM reconnects through
        // the handoff and gets its address back from the reservation, which stays.
        if (lease is null || transport.Kind == TransportKind.Fd)
        {
            // On a full disk the row stays (the next start deletes it): a restart must not fail on it.
            try { store.DeleteEndpoint(row.Network, row.Name); }
            catch (StateUnwritableException) { }
            return;
        }
        var aliases = JsonSerializer.Deserialize(row.AliasesJson, DaemonJsonContext.Default.ListString) ?? [];
        bool bridged = net.Mode == NetworkMode.Bridged;
        // A bridged guest whose LAN lease is still good goes on with it; otherwise it must ask the LAN again.
        var ipv4 = !bridged || lease.State == LeaseStatus.Bound && lease.Expires > time.GetUtcNow() ? lease.Ipv4 : default;
        var config = new EndpointConfig(row.Name, lease.Mac, ipv4, transport.LearnMac, aliases, row.DefaultRoute, StoredEgressPolicy.FromJson(row.EgressJson),
            row.MaxFlows ?? 0);
        var record = new EndpointRecord { Row = row, Transport = transport, Config = config };
        try
        {
            var live = transports.Create(transport, config, net.Live.Config, restoring: true);
            record.Port = net.Live.Attach(config, live);
            if (transport.Configure) ResolvConfWriter.Write(net, record);
            DirectoryLog.EndpointRestored(logger, net.Row.Name, row.Name, lease.Ipv4.ToString());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            record.Error = e.Message;
            DirectoryLog.EndpointRestoreFailed(logger, net.Row.Name, row.Name, e.Message);
        }
        ports.Restore(net, record);
        registry.Write(() => net.Endpoints[row.Name] = record);
    }

    /// <summary>The network as an endpoint plan sees it.</summary>
    private EndpointTarget Target(NetworkRecord net) => new(net.Row.Name, net.Mode, net.Live.Config.Subnet, net.Live.Config.GatewayMac,
        net.Row.BridgeInterface, registry.Read(() => net.Endpoints.ToDictionary(e => e.Key, e => (IReadOnlyList<string>)(e.Value.Config.Aliases ?? []))),
        net.Live.DhcpRange);

    /// <summary>The endpoints, on any network, of the guest <paramref name="transport"/> belongs to:
    /// tap endpoints in the same namespace. Socket transports cannot tell one VM from another.</summary>
    private List<EndpointRef> Siblings(StoredTransport transport)
    {
        if (!transport.InNamespace) return [];
        return registry.Read(() => registry.Snapshot().SelectMany(n => n.Endpoints.Values
            .Where(e => e.Transport.Kind == TransportKind.Tap && e.Transport.Netns == transport.Netns && e.Transport.NetnsPath == transport.NetnsPath)
            .Select(e => new EndpointRef(n, e))).ToList());
    }

    private void SetDefaultRoute(NetworkRecord net, EndpointRecord e, bool defaultRoute)
    {
        store.SetDefaultRoute(net.Row.Name, e.Row.Name, defaultRoute);
        registry.Write(() => e.Config = e.Config with { DefaultRoute = defaultRoute });
        if (e.Port is { } port) port.DefaultRoute = defaultRoute;
    }

    /// <summary>The MACs in use on the LAN a bridged network joins, by the networks bridged to the same
    /// interface (reservations and live ports), with who holds each; and the interface's own MAC.</summary>
    private Dictionary<MacAddress, string> MacsOnLan(NetworkRecord net)
    {
        var macs = new Dictionary<MacAddress, string>();
        // bridged:vxlan networks have no interface: each is its own segment, shared with no other here.
        var others = registry.Snapshot().Where(n => n != net && n.Row.BridgeInterface is not null && n.Row.BridgeInterface == net.Row.BridgeInterface && n.Mode == NetworkMode.Bridged);
        foreach (var other in others)
        {
            foreach (var l in store.Leases(other.Row.Name)) macs.TryAdd(l.Mac, $"endpoint '{l.Endpoint}' of network '{other.Row.Name}'");
            foreach (var p in other.Live.Endpoints) macs.TryAdd(p.Mac, $"endpoint '{p.Name}' of network '{other.Row.Name}'");
        }
        if (net.Row.BridgeInterface is { } name && HostInterfaces.Find(name) is { Mac: { } own } && MacAddress.TryParse(own, out var hostMac))
            macs.TryAdd(hostMac, $"the host interface {name} itself");
        return macs;
    }
}
