using Switchyard.Client;

namespace Switchyard.Cni;

/// <summary>ADD, DEL, CHECK, STATUS and GC against the daemon's API for one network.</summary>
internal sealed class CniCommands(SwitchyardClient client, CniEnvironment env, NetConf conf, string network, string version)
{
    /// <summary>ADD (spec 1.0 "ADD"): attaches the endpoint and returns the result. The daemon's
    /// attach is all or nothing, so a failed ADD leaves no endpoint behind.</summary>
    public async Task<CniResult> AddAsync()
    {
        var request = AttachPlan.Build(conf, env, network);
        string netns = request.Transport.NetnsPath!;
        if (!File.Exists(netns))
            throw new CniException(CniErrors.InvalidEnvironment, $"CNI_NETNS {netns} does not exist", "the container's network namespace must be a file (/proc/PID/ns/net or a bind mount of it)");
        var net = await GetNetworkAsync();
        if (request.Aliases is not null || request.Publish is not null) await RemoveStaleAsync(request);
        // An ADD retried after a runtime failure, without a DEL between: the earlier endpoint goes,
        // then the attach starts from nothing (the name is the same, so it is this attachment's).
        try { await client.DetachEndpointAsync(network, request.Name); }
        catch (Exception e) when (DaemonErrors.IsNotFound(e)) { }
        catch (Exception e) { throw DaemonErrors.From(e, $"removing the earlier endpoint {request.Name}"); }
        EndpointInfo ep;
        try { ep = await client.AttachEndpointAsync(network, request); }
        catch (Exception e) { throw DaemonErrors.From(e, $"attaching {request.Name} to network '{network}'"); }
        return ResultBuilder.Build(version, net, ep, netns, request.Transport.Ifname!);
    }

    /// <summary>DEL (spec 1.0 "DEL"): detaches; an endpoint or network that is already gone is success.</summary>
    public async Task DelAsync()
    {
        string name = EndpointName();
        try { await client.DetachEndpointAsync(network, name); }
        catch (Exception e) when (DaemonErrors.IsNotFound(e)) { }
        catch (Exception e) { throw DaemonErrors.From(e, $"detaching {name} from network '{network}'"); }
    }

    /// <summary>CHECK (spec 1.0 "CHECK"): the endpoint is up where ADD put it, prevResult's addresses
    /// are still its own, and inside the namespace the interface has its MAC, its address and the route.</summary>
    public async Task CheckAsync()
    {
        string netns = CniEnvironment.Require(env.Netns, "CNI_NETNS");
        string ifname = CniEnvironment.Require(env.Ifname, "CNI_IFNAME");
        string name = EndpointName();
        if (!File.Exists(netns)) throw new CniException(CniErrors.InvalidEnvironment, $"CNI_NETNS {netns} does not exist");
        if (conf.PrevResult is not { } prev || prev.ValueKind != System.Text.Json.JsonValueKind.Object)
            throw new CniException(CniErrors.InvalidConfig, "CHECK needs prevResult", "the runtime passes ADD's result as prevResult");
        CniResult? previous;
        try { previous = System.Text.Json.JsonSerializer.Deserialize(prev, CniJsonContext.Default.CniResult); }
        catch (System.Text.Json.JsonException e) { throw new CniException(CniErrors.DecodeFailure, "cannot decode prevResult", e.Message); }
        var net = await GetNetworkAsync();
        EndpointInfo ep;
        try { ep = await client.GetEndpointAsync(network, name); }
        catch (Exception e) when (DaemonErrors.IsNotFound(e)) { throw Failed($"endpoint {name} is not attached to network '{network}'"); }
        catch (Exception e) { throw DaemonErrors.From(e, $"reading endpoint {name}"); }
        if (ep.State != "up") throw Failed($"endpoint {name} is {ep.State}", ep.Error);
        if (ep.Transport.NetnsPath != netns || ep.Transport.Ifname != ifname)
            throw Failed($"endpoint {name} is attached to {ep.Transport.NetnsPath} {ep.Transport.Ifname}, not {netns} {ifname}");
        var expected = ResultBuilder.Build(version, net, ep, netns, ifname);
        foreach (var ip in previous?.Ips ?? [])
        {
            if (!expected.Ips!.Any(e => e.Address == ip.Address)) throw Failed($"address {ip.Address} of prevResult is no longer endpoint {name}'s");
        }
        if (!OperatingSystem.IsLinux()) return;
        var view = NetnsInspector.Inspect(netns, ifname);
        string cidr = expected.Ips![0].Address;
        if (!view.InterfaceFound) throw Failed($"interface {ifname} is missing in {netns}");
        if (!string.Equals(view.Mac, ep.Mac, StringComparison.OrdinalIgnoreCase)) throw Failed($"interface {ifname} has MAC {view.Mac}, not {ep.Mac}");
        if (!view.Ipv4Cidrs.Contains(cidr)) throw Failed($"interface {ifname} lacks address {cidr}", $"it has: {string.Join(", ", view.Ipv4Cidrs)}");
        if (ep.DefaultRoute && view.DefaultGateway != net.Gateway)
            throw Failed($"the default route via {net.Gateway} on {ifname} is missing", view.DefaultGateway is { } gw ? $"the default route is via {gw}" : "there is no default route");
    }

    /// <summary>STATUS (spec 1.1): ready when the daemon answers and the network exists.</summary>
    public async Task StatusAsync()
    {
        try { await client.GetNetworkAsync(network); }
        catch (Exception e) when (DaemonErrors.IsNotFound(e)) { throw new CniException(CniErrors.PluginNotAvailable, $"network '{network}' does not exist"); }
        catch (Exception e) { throw new CniException(CniErrors.PluginNotAvailable, DaemonErrors.From(e, "reaching the daemon").Message); }
    }

    /// <summary>GC (spec 1.1): detaches this CNI network's endpoints whose attachment is not in
    /// cni.dev/valid-attachments. Endpoints attached by other means (no CNI labels) are left alone.</summary>
    public async Task GcAsync()
    {
        var valid = conf.ValidAttachments
            ?? throw new CniException(CniErrors.InvalidConfig, "GC needs cni.dev/valid-attachments", "without it every attachment would look stale");
        var keep = valid.Where(a => a.ContainerId is not null && a.Ifname is not null).Select(a => (a.ContainerId!, a.Ifname!)).ToHashSet();
        List<EndpointInfo> endpoints;
        try { endpoints = await client.ListEndpointsAsync(network); }
        catch (Exception e) when (DaemonErrors.IsNotFound(e)) { return; }
        catch (Exception e) { throw DaemonErrors.From(e, $"listing network '{network}'"); }
        foreach (var ep in endpoints)
        {
            var labels = ep.Labels ?? new Dictionary<string, string>();
            if (!labels.TryGetValue(AttachPlan.ContainerIdLabel, out var id) || !labels.TryGetValue(AttachPlan.IfnameLabel, out var nic)) continue;
            if (labels.GetValueOrDefault(AttachPlan.CniNetworkLabel) != (conf.Name ?? network) || keep.Contains((id, nic))) continue;
            try { await client.DetachEndpointAsync(network, ep.Name); }
            catch (Exception e) when (DaemonErrors.IsNotFound(e)) { }
            catch (Exception e) { throw DaemonErrors.From(e, $"detaching stale endpoint {ep.Name}"); }
        }
    }

    private async Task RemoveStaleAsync(EndpointAttachRequest request)
    {
        try
        {
            var endpoints = await client.ListEndpointsAsync(network);
            foreach (var stale in StaleAttachments.Blocking(endpoints, request, conf.Name ?? network, File.Exists))
            {
                await Console.Error.WriteLineAsync($"switchyard: removing endpoint {stale.Name}: its namespace {stale.Transport.NetnsPath} is gone and it holds a name or port this container needs");
                try { await client.DetachEndpointAsync(network, stale.Name); }
                catch (Exception e) when (DaemonErrors.IsNotFound(e)) { }
            }
        }
        catch (Exception e) when (e is not CniException) { throw DaemonErrors.From(e, "removing stale endpoints"); }
    }

    private string EndpointName() =>
        EndpointNames.For(CniEnvironment.Require(env.ContainerId, "CNI_CONTAINERID"), CniEnvironment.Require(env.Ifname, "CNI_IFNAME"));

    private async Task<NetworkInfo> GetNetworkAsync()
    {
        try { return await client.GetNetworkAsync(network); }
        catch (Exception e) when (DaemonErrors.IsNotFound(e))
        {
            throw new CniException(CniErrors.InvalidConfig, $"network '{network}' does not exist", $"create it with 'yard network create {network}'");
        }
        catch (Exception e) { throw DaemonErrors.From(e, $"reading network '{network}'"); }
    }

    private static CniException Failed(string msg, string? details = null) => new(CniErrors.CheckFailed, msg, details);
}
