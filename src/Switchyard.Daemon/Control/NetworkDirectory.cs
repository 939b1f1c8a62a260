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
    private readonly EgressPolicies _egress;

    public NetworkDirectory(NetworkRegistry registry, IStateStore store, NetworkLifecycle networks, EndpointLifecycle endpoints,
        PublishedPorts ports, EgressPolicies egress)
    {
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

    public async Task<NetworkRecord> CreateNetworkAsync(NetworkCreateRequest request)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        return _networks.Create(request);
    }

    /// <summary>Changes a network's mode or host loopback (rebuilding it), or edits its egress policy (live).</summary>
    public async Task<NetworkRecord> UpdateNetworkAsync(string name, NetworkUpdateRequest r)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        var net = _registry.Find(name);
        if (r.Egress is not { } edit) return _networks.Update(net, r);
        // An edit of the policy applies live; with a mode change it would apply to a network about to be rebuilt.
        if (r.Mode is not null || r.HostLoopback is not null)
            throw ControlException.Invalid("change the egress policy and the mode or host loopback in separate requests");
        if (r.MaxFlows is not null) _networks.Update(net, new NetworkUpdateRequest { MaxFlows = r.MaxFlows });
        _egress.Edit(net, edit);
        return net;
    }

    public async Task DeleteNetworkAsync(string name)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _networks.Delete(name);
    }

    public async Task<EndpointRef> AttachAsync(string network, EndpointAttachRequest r)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        return _endpoints.Attach(network, r, (spec, config, net) => _endpoints.Transports.Create(spec, config, net, restoring: false));
    }

    public async Task DetachAsync(string network, string name)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _endpoints.Detach(network, name);
    }

    public async Task<EndpointRef> PublishAsync(string network, string name, string spec)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        return _ports.Publish(network, name, spec);
    }

    public async Task UnpublishAsync(string network, string name, string spec)
    {
        using var gate = await _registry.EnterAsync().ConfigureAwait(false);
        _ports.Unpublish(network, name, spec);
    }

    /// <summary>Stops every transport without destroying persistent TAPs: a restarted daemon
    /// re-attaches to them and the guests keep their configuration.</summary>
    public void Dispose()
    {
        _networks.Dispose();
        foreach (var n in _registry.Clear())
        {
            foreach (var e in n.Endpoints.Values) _ports.StopListening(e);
            n.Live.Dispose();
        }
    }
}
