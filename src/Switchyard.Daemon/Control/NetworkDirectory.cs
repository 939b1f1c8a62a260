using Switchyard.Client;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Control;

/// <summary>The daemon's networks and endpoints, as the API changes them: every change takes the
/// gate (see <see cref="NetworkRegistry"/> for the lock rule), then one collaborator does the work
/// and keeps the store in step. Reads go to the registry directly (<c>Api/Views</c>).</summary>
internal sealed partial class NetworkDirectory : IDisposable
{
    private readonly NetworkRegistry _registry;
    private readonly IStateStore _store;
    private readonly NetworkLifecycle _networks;
    private readonly EndpointLifecycle _endpoints;
    private readonly PublishedPorts _ports;
    private readonly RemotePublishedPorts _remotePorts;
    private readonly EgressPolicies _egress;
    private readonly CallerPolicy _callers;

    public NetworkDirectory(NetworkRegistry registry, IStateStore store, NetworkLifecycle networks, EndpointLifecycle endpoints,
        PublishedPorts ports, RemotePublishedPorts remotePorts, EgressPolicies egress, CallerPolicy callers)
    {
        _remotePorts = remotePorts;
        _callers = callers;
        _registry = registry;
        _store = store;
        _networks = networks;
        _endpoints = endpoints;
        _ports = ports;
        _egress = egress;
    }

    /// <summary>Brings back every stored network and endpoint; on a fresh state directory,
    /// creates the network <c>default</c>.</summary>
    public async Task StartAsync(bool createDefault)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        foreach (var row in _store.Networks()) _networks.Restore(row);
        if (createDefault && _registry.Count == 0)
            _networks.Create(new NetworkCreateRequest { Name = NetworkPlanner.DefaultNetwork, Subnet = NetworkPlanner.DefaultSubnet.ToString() });
    }

    /// <summary>Who may do what: each change below is checked against its caller under the gate.</summary>
    public CallerPolicy Callers => _callers;

    public async Task<NetworkRecord> CreateNetworkAsync(Caller caller, NetworkCreateRequest request)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _callers.CheckCreateNetwork(caller, request);
        return _networks.Create(request);
    }

    /// <summary>Changes a network's mode or host loopback (rebuilding it), or edits its egress policy (live).</summary>
    public async Task<NetworkRecord> UpdateNetworkAsync(Caller caller, string name, NetworkUpdateRequest r)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        var net = _registry.Find(name);
        _callers.CheckUpdateNetwork(caller, net.Mode, r, net.JoinsOverVxlan);
        if (r.Egress is not { } edit) return _networks.Update(net, r);
        if (r.Vxlan is not null) throw ControlException.Invalid("change the egress policy and the VXLAN peers in separate requests");
        // An edit of the policy applies live; with a mode change it would apply to a network about to be rebuilt.
        if (r.Mode is not null || r.HostLoopback is not null)
            throw ControlException.Invalid("change the egress policy and the mode or host loopback in separate requests");
        if (r.MaxFlows is not null) _networks.Update(net, new NetworkUpdateRequest { MaxFlows = r.MaxFlows });
        _egress.Edit(net, edit);
        return net;
    }

    public async Task DeleteNetworkAsync(Caller caller, string name)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        var net = _registry.Find(name);
        CheckDelete(caller, net);
        _networks.Delete(name);
    }

    /// <summary>Removes every network that has no endpoints and passes <paramref name="select"/>,
    /// except <c>default</c> (as <c>docker network prune</c> keeps its predefined networks), all under
    /// one hold of the gate, so no attach slips in between the check and the removal. A network the
    /// caller may not remove, or one another runtime made and still counts on (a Docker network
    /// without containers), is kept and named with the reason, not an error for the rest.</summary>
    public async Task<NetworkPruneResult> PruneNetworksAsync(Caller caller, Func<NetworkRecord, bool> select)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        var removed = new List<string>();
        var kept = new List<PruneKept>();
        foreach (var net in _registry.Snapshot())
        {
            string name = net.Row.Name;
            if (name == NetworkPlanner.DefaultNetwork || _registry.Read(() => net.Endpoints.Count) > 0 || !select(net)) continue;
            if (OwnedBy(net) is { } owner)
            {
                kept.Add(new PruneKept { Name = name, Reason = $"made by {owner} (label {LabelRules.CreatedBy}), which still counts on it: remove it there" });
                continue;
            }
            try { CheckDelete(caller, net); }
            catch (ControlException e) when (e.Kind == ControlError.Forbidden)
            {
                kept.Add(new PruneKept { Name = name, Reason = e.Message });
                continue;
            }
            _networks.Delete(name);
            removed.Add(name);
        }
        return new NetworkPruneResult { Removed = removed, Kept = kept.Count == 0 ? null : kept };
    }

    /// <summary>Removing a network closes its remote guests' host ports too: the caller must be one who
    /// could have published them (as detaching an endpoint with published ports).</summary>
    private void CheckDelete(Caller caller, NetworkRecord net)
    {
        _callers.CheckDeleteNetwork(caller, net.Mode, net.JoinsOverVxlan);
        foreach (var spec in _remotePorts.Specs(net)) _callers.CheckPublish(caller, spec);
    }

    private static string? OwnedBy(NetworkRecord net) =>
        System.Text.Json.JsonSerializer.Deserialize(net.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString)?.GetValueOrDefault(LabelRules.CreatedBy);

    public async Task<EndpointRef> AttachAsync(Caller caller, string network, EndpointAttachRequest r)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _registry.Find(network);   // 404 for an unknown network before the caller's rights are judged
        _callers.CheckAttach(caller, r);
        var attached = _endpoints.Attach(network, r, (spec, config, net) => _endpoints.Transports.Create(spec, config, net, restoring: false));
        if (!_callers.IsPrivileged(caller) && attached.Endpoint.Transport is { Kind: not TransportKind.Udp, Listen: { } socket }) GiveSocket(caller, network, r.Name, socket);
        return attached;
    }

    /// <summary>A socket the daemon bound for a member becomes the member's, as if it had made it: its
    /// VM may connect (unix(7) wants write permission), and it may remove or replace it later, in a
    /// sticky directory too. If that cannot be done, the endpoint is not left half-usable.</summary>
    private void GiveSocket(Caller caller, string network, string name, string path)
    {
        try { Platform.FileOwnership.SetOwner(path, caller.Uid, caller.Gid); }
        catch (Platform.PlatformException e)
        {
            _endpoints.Detach(network, name);
            throw new ControlException(ControlError.Failed, $"cannot give {path} to uid {caller.Uid}: {e.Message}");
        }
    }

    public async Task DetachAsync(Caller caller, string network, string name, bool keepReservation = true)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        var (_, e) = _registry.FindEndpoint(network, name);
        _callers.CheckDetach(caller, e.Transport, _registry.Read(() => e.Published.Select(p => p.Spec).ToList()));
        _endpoints.Detach(network, name, keepReservation);
    }

    public async Task<EndpointRef> PublishAsync(Caller caller, string network, string name, string spec)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _registry.FindEndpoint(network, name);
        _callers.CheckPublish(caller, PublishRules.Parse(spec));
        return _ports.Publish(network, name, spec);
    }

    public async Task UnpublishAsync(Caller caller, string network, string name, string spec)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _registry.FindEndpoint(network, name);
        _callers.CheckPublish(caller, PublishRules.Parse(spec));
        _ports.Unpublish(network, name, spec);
    }

    /// <summary>Publishes a host port to a remote guest of a gateway network (no endpoint: a pool lease
    /// behind the tunnel), named by its DHCP host name, leased address or MAC.</summary>
    public async Task<NetworkRecord> PublishToRemoteAsync(Caller caller, string network, string to, string spec)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _registry.Find(network);   // 404 for an unknown network before the caller's rights are judged
        _callers.CheckPublish(caller, PublishRules.Parse(spec));
        return _remotePorts.Publish(network, to, spec);
    }

    public async Task UnpublishRemoteAsync(Caller caller, string network, string spec)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _registry.Find(network);
        _callers.CheckPublish(caller, PublishRules.Parse(spec));
        _remotePorts.Unpublish(network, spec);
    }

    /// <summary>Stops every transport without destroying persistent TAPs: a restarted daemon
    /// re-attaches to them and the guests keep their configuration. The registry keeps its networks
    /// until <see cref="Dispose"/>, so events the data plane reported last (a lease acknowledged just
    /// before shutdown) still find their network when the event writer drains them.</summary>
    public void StopDataPlane()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        _networks.Dispose();
        foreach (var n in _registry.Snapshot())
        {
            foreach (var e in n.Endpoints.Values) _ports.StopListening(e);
            _remotePorts.StopListening(n);
            n.Live.Dispose();
        }
    }

    private int _stopped;

    public void Dispose()
    {
        StopDataPlane();
        _registry.Clear();
    }
}
