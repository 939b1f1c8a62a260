using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Network;
using Switchyard.Packets;

namespace Switchyard.Daemon.Docker;

/// <summary>
/// libnetwork's remote network driver (moby/libnetwork docs/remote.md) on top of the control plane:
/// a Docker network is a Switchyard network, a Docker endpoint a Switchyard endpoint whose transport
/// is a TAP the daemon makes in its own namespace and Docker moves into the container at Join
/// (a TAP's fd keeps working across the move: it is bound to the device, not to a namespace).
/// <para>CreateNetwork carries only Docker's network ID. dockerd stores the network (with its name)
/// after the driver answers, so the Switchyard network is made then: a background lookup asks
/// dockerd's Engine API for the name; the first CreateEndpoint waits for it. Without an answer
/// from dockerd the network is named <c>docker-ID12</c>.</para>
/// <para>One lock orders the driver's calls; it is always taken before the control plane's gate.</para>
/// </summary>
internal sealed class RemoteDriver(NetworkDirectory directory, NetworkRegistry registry, DockerBindings bindings, IDockerEngine engine,
    ILogger logger, TimeSpan nameWait)
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>Background lookups still running (the tests and shutdown wait for them).</summary>
    private readonly List<Task> _pending = [];

    public static CapabilitiesResponse Capabilities => new() { Scope = "local", ConnectivityScope = "local" };

    /// <summary>After a start: networks whose name was not known when the daemon stopped are looked
    /// up again, and running containers get their interfaces back (<see cref="ReattachAsync"/>).</summary>
    public void Resume()
    {
        foreach (var b in bindings.All.Where(b => b.Name is null)) StartNaming(b.NetworkId);
        Track(Task.Run(ReattachAsync));
    }

    /// <summary>
    /// A container's interface is a TAP the daemon held open: it went away when the daemon stopped,
    /// and the restored endpoint has a new TAP in the daemon's namespace that no Join will move. For
    /// each such endpoint in a running container (dockerd's Engine API says which, and its sandbox),
    /// the endpoint is attached again straight into the sandbox as <c>eth0</c>, configured as Docker
    /// had it (same MAC, address and default route), and persistent, so later restarts find it there.
    /// A container on several networks cannot be told which ethN was ours: it is left for a
    /// <c>docker restart</c>, and the log says so.
    /// </summary>
    private async Task ReattachAsync()
    {
        foreach (var b in bindings.All)
        {
            if (b.Name is not { } network || !registry.TryGet(network, out var net)) continue;
            var waiting = registry.Read(() => net.Endpoints.Values
                .Where(e => e.Transport is { Kind: State.TransportKind.Tap, Netns: null, NetnsPath: null })
                .Select(e => e.Row.Name).ToHashSet());
            if (waiting.Count == 0) continue;
            IReadOnlyList<JoinedEndpoint> joined;
            try { joined = await engine.JoinedAsync(b.NetworkId, CancellationToken.None).ConfigureAwait(false); }
            catch (DockerEngineUnavailableException e)
            {
                DockerLog.Reattach(logger, network, string.Join(", ", waiting), $"not reattached, dockerd cannot be asked ({e.Message}); restart the containers");
                continue;
            }
            foreach (var j in joined)
            {
                var name = DockerNetworkOptions.EndpointName(j.EndpointId);
                if (!waiting.Contains(name)) continue;
                if (j.Networks != 1)
                {
                    DockerLog.Reattach(logger, network, name, "not reattached: its container is on several networks; docker restart it");
                    continue;
                }
                try
                {
                    using (await LockAsync().ConfigureAwait(false))
                    {
                        if (!registry.TryGetEndpoint(network, name, out var found)) continue;
                        var e = found.Endpoint;
                        var request = new EndpointAttachRequest
                        {
                            Name = name,
                            Transport = new TransportSpec { Kind = "tap", NetnsPath = j.SandboxKey, Ifname = "eth0", Configure = true },
                            Ip = e.Config.Ipv4.ToString(),
                            Mac = e.Config.Mac.ToString(),
                            DefaultRoute = net.Mode != NetworkMode.Internal,
                            Labels = JsonSerializer.Deserialize(e.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString),
                        };
                        await directory.DetachAsync(Caller.Daemon, network, name, keepReservation: true).ConfigureAwait(false);
                        await directory.AttachAsync(Caller.Daemon, network, request).ConfigureAwait(false);
                    }
                    DockerLog.Reattach(logger, network, name, $"eth0 in {j.SandboxKey} again");
                }
                catch (Exception e) when (e is ControlException or IOException or UnauthorizedAccessException)
                {
                    DockerLog.Reattach(logger, network, name, $"not reattached: {e.Message}; docker restart its container");
                }
            }
        }
    }

    public async Task CreateNetworkAsync(CreateNetworkRequest r)
    {
        var id = DockerNetworkOptions.CheckId(r.NetworkID);
        var spec = DockerNetworkOptions.Parse(r);
        using (await LockAsync().ConfigureAwait(false))
        {
            if (bindings.Find(id) is { } known)
            {
                if (known.Spec == spec) return;   // asked again (dockerd retrying): the same network
                throw ControlException.Conflict($"Docker network {id[..12]} exists already with other options");
            }
            // A subnet that overlaps another network's is refused now, while `docker network create` can
            // still say so; the same subnet may be a network of that name to adopt, judged once the name is known.
            var subnet = Ipv4Subnet.Parse(spec.Subnet);
            foreach (var n in registry.Snapshot())
                if (n.Live.Config.Subnet.Overlaps(subnet) && n.Live.Config.Subnet != subnet)
                    throw ControlException.Conflict($"subnet {subnet} overlaps Switchyard network '{n.Row.Name}' ({n.Live.Config.Subnet})");
            bindings.Set(new DockerNetworkBinding { NetworkId = id, Spec = spec });
        }
        DockerLog.NetworkRequested(logger, id[..12], spec.Subnet, spec.Mode ?? "nat");
        StartNaming(id);
    }

    public async Task DeleteNetworkAsync(NetworkRequest r)
    {
        var id = DockerNetworkOptions.CheckId(r.NetworkID);
        using (await LockAsync().ConfigureAwait(false))
        {
            if (bindings.Find(id) is not { } b) return;   // unknown: nothing to remove (remote.md: delete is final)
            if (b.Name is { } name && !b.Adopted && registry.TryGet(name, out _))
                await directory.DeleteNetworkAsync(Caller.Daemon, name).ConfigureAwait(false);
            bindings.Remove(id);
            DockerLog.NetworkDeleted(logger, id[..12], b.Name ?? "(not made yet)", b.Adopted);
        }
    }

    public async Task<CreateEndpointResponse> CreateEndpointAsync(EndpointRequest r)
    {
        var endpointId = DockerNetworkOptions.CheckId(r.EndpointID);
        var network = await NetworkNameAsync(r.NetworkID).ConfigureAwait(false);
        var iface = r.Interface ?? new EndpointInterface();
        if (!string.IsNullOrEmpty(iface.AddressIPv6)) throw ControlException.Invalid("the switchyard driver gives no IPv6 addresses from Docker's IPAM");
        if (string.IsNullOrEmpty(iface.Address)) throw ControlException.Invalid("the endpoint has no IPv4 address from Docker's IPAM");
        var address = iface.Address.Split('/')[0];
        var request = new EndpointAttachRequest
        {
            Name = DockerNetworkOptions.EndpointName(endpointId),
            // A TAP in the daemon's own namespace, which Docker moves into the container and renames at Join.
            Transport = new TransportSpec { Kind = "tap", Ifname = DockerNetworkOptions.TapName(endpointId) },
            // Docker's IPAM chose the address; it becomes the endpoint's reservation (DHCP gives the same).
            Ip = address,
            Mac = string.IsNullOrEmpty(iface.MacAddress) ? null : iface.MacAddress,
            Labels = new Dictionary<string, string>
            {
                [DockerNetworkOptions.Labels.EndpointId] = endpointId,
                [DockerNetworkOptions.Labels.NetworkId] = r.NetworkID,
            },
        };
        EndpointRef attached;
        using (await LockAsync().ConfigureAwait(false))
            attached = await directory.AttachAsync(Caller.Daemon, network, request).ConfigureAwait(false);
        DockerLog.EndpointCreated(logger, endpointId[..12], network, request.Name, address);
        // remote.md: the driver returns only what Docker left out; an address Docker gave must not come back.
        return new CreateEndpointResponse
        {
            Interface = request.Mac is null ? new EndpointInterface { MacAddress = attached.Endpoint.Config.Mac.ToString() } : null,
        };
    }

    public async Task DeleteEndpointAsync(EndpointRequest r)
    {
        var name = DockerNetworkOptions.EndpointName(r.EndpointID);
        using (await LockAsync().ConfigureAwait(false))
        {
            // Docker deletes after failures too: an endpoint that is not there is already deleted.
            if (BoundName(r.NetworkID) is not { } network || !registry.TryGetEndpoint(network, name, out _)) return;
            // The address is Docker's IPAM's: it goes back with the endpoint, so the next container may have it.
            await directory.DetachAsync(Caller.Daemon, network, name, keepReservation: false).ConfigureAwait(false);
        }
        DockerLog.EndpointDeleted(logger, r.EndpointID[..12], name);
    }

    public EndpointInfoResponse EndpointInfo(EndpointRequest r)
    {
        var (net, e) = Find(r);
        return new EndpointInfoResponse
        {
            Value = new Dictionary<string, string>
            {
                ["switchyard.network"] = net.Row.Name,
                ["switchyard.endpoint"] = e.Row.Name,
                ["switchyard.mac"] = e.Config.Mac.ToString(),
                ["switchyard.ipv4"] = e.Config.Ipv4.ToString(),
                ["switchyard.state"] = e.Error is null ? "up" : "down: " + e.Error,
            },
        };
    }

    /// <summary>Join: Docker moves <c>SrcName</c> into the sandbox as <c>ethN</c>, gives it the IPAM
    /// address and routes through <c>Gateway</c>. An internal network reaches nothing beyond its
    /// guests, so it gives no gateway. The gateway service (docker_gwbridge) is never wanted: the
    /// outside is reached through Switchyard's NAT.</summary>
    public JoinResponse Join(EndpointRequest r)
    {
        var (net, e) = Find(r);
        if (e.Error is { } error) throw new ControlException(ControlError.Failed, $"endpoint '{e.Row.Name}' is down: {error}");
        var mode = net.Mode;
        return new JoinResponse
        {
            InterfaceName = new InterfaceName { SrcName = e.Transport.Ifname!, DstPrefix = "eth" },
            Gateway = mode == NetworkMode.Internal ? "" : net.Live.Config.Gateway.ToString(),
            DisableGatewayService = true,
        };
    }

    public void Leave(EndpointRequest r) => Find(r);

    /// <summary>Docker's <c>-p</c> bindings (<c>com.docker.network.portmap</c>) become published ports,
    /// which keep the client's source address. An empty host address is Docker's "every address".</summary>
    public async Task ProgramExternalConnectivityAsync(EndpointRequest r)
    {
        var specs = PortSpecs(r.Options);
        if (specs.Count == 0) return;
        var name = DockerNetworkOptions.EndpointName(r.EndpointID);
        using (await LockAsync().ConfigureAwait(false))
        {
            var network = BoundName(r.NetworkID) ?? throw ControlException.NotFound($"Docker network {Short(r.NetworkID)} is not served by this driver");
            var done = new List<string>();
            try
            {
                foreach (var spec in specs)
                {
                    await directory.PublishAsync(Caller.Daemon, network, name, spec).ConfigureAwait(false);
                    done.Add(spec);
                }
            }
            catch
            {
                foreach (var spec in done) await directory.UnpublishAsync(Caller.Daemon, network, name, spec).ConfigureAwait(false);
                throw;
            }
        }
    }

    public async Task RevokeExternalConnectivityAsync(EndpointRequest r)
    {
        var name = DockerNetworkOptions.EndpointName(r.EndpointID);
        using (await LockAsync().ConfigureAwait(false))
        {
            if (BoundName(r.NetworkID) is not { } network || !registry.TryGetEndpoint(network, name, out var found)) return;
            var published = registry.Read(() => found.Endpoint.Published.Select(p => p.Text).ToList());
            foreach (var spec in published) await directory.UnpublishAsync(Caller.Daemon, network, name, spec).ConfigureAwait(false);
        }
    }

    /// <summary>Docker's port bindings as publish specs (RuleSpecs: <c>[HOSTIP:]HOSTPORT:GUESTPORT/PROTO</c>).</summary>
    public static List<string> PortSpecs(Dictionary<string, JsonElement>? options)
    {
        if (options is null || !options.TryGetValue("com.docker.network.portmap", out var map) || map.ValueKind != JsonValueKind.Array) return [];
        var bindings = map.Deserialize(DockerJsonContext.Default.ListPortBinding) ?? [];
        var specs = new List<string>();
        foreach (var b in bindings)
        {
            string proto = b.Proto switch { 6 => "tcp", 17 => "udp", _ => throw ControlException.Invalid($"protocol {b.Proto} cannot be published (tcp and udp can)") };
            if (b.HostPort == 0) throw ControlException.Invalid($"publish {b.Port}/{proto}: give the host port (-p HOSTPORT:{b.Port}); Switchyard does not pick one");
            if (b.HostPortEnd != 0 && b.HostPortEnd != b.HostPort) throw ControlException.Invalid("host port ranges are not supported; publish each port");
            var host = string.IsNullOrEmpty(b.HostIP) ? "0.0.0.0" : b.HostIP.Contains(':') ? $"[{b.HostIP}]" : b.HostIP;
            specs.Add($"{host}:{b.HostPort}:{b.Port}/{proto}");
        }
        return specs;
    }

    /// <summary>Waits for the background lookups (tests; shutdown).</summary>
    public Task IdleAsync()
    {
        lock (_pending) return Task.WhenAll([.. _pending]);
    }

    private void StartNaming(string id)
    {
        var task = Task.Run(async () =>
        {
            try { await NetworkNameAsync(id).ConfigureAwait(false); }
            catch (Exception e) when (e is ControlException or IOException or UnauthorizedAccessException)
            {
                // Said again, to Docker, at the first CreateEndpoint.
                DockerLog.NetworkNotMade(logger, id[..12], e.Message);
            }
        });
        Track(task);
    }

    private void Track(Task task)
    {
        lock (_pending)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(task);
        }
    }

    /// <summary>The Switchyard network of a Docker network, made (or adopted) now if it is not yet.</summary>
    private async Task<string> NetworkNameAsync(string networkId)
    {
        var id = DockerNetworkOptions.CheckId(networkId);
        if (BoundName(id) is { } known)
        {
            if (registry.TryGet(known, out _)) return known;
            return await RemakeAsync(id, known).ConfigureAwait(false);
        }
        string? dockerName = await LookUpNameAsync(id).ConfigureAwait(false);
        using (await LockAsync().ConfigureAwait(false))
        {
            var b = bindings.Find(id) ?? throw ControlException.NotFound($"Docker network {id[..12]} is not served by this driver (was it created while another daemon served the plugin socket?)");
            if (b.Name is { } name) return name;   // made meanwhile
            name = dockerName is null ? DockerNetworkOptions.FallbackName(id) : DockerNetworkOptions.NetworkName(dockerName) ?? DockerNetworkOptions.FallbackName(id);
            bool adopted = false;
            if (registry.TryGet(name, out var existing))
            {
                adopted = true;
                if (existing.Live.Config.Subnet.ToString() != b.Spec.Subnet)
                    throw ControlException.Conflict($"Switchyard network '{name}' exists with subnet {existing.Live.Config.Subnet}, not Docker's {b.Spec.Subnet}: give docker network create --subnet {existing.Live.Config.Subnet} to use it");
                if (b.Spec.Mode is { } mode && Planning.ModeSpec.Parse(mode).Mode != existing.Mode)
                    throw ControlException.Conflict($"Switchyard network '{name}' exists in mode {Planning.ModeSpec.Name(existing.Mode)}, not {mode}");
                if (b.Spec.Egress is not null || b.Spec.Mtu is not null || b.Spec.DnsUpstreams is not null)
                    throw ControlException.Conflict($"Switchyard network '{name}' exists: it is adopted as it is (change it with 'yard network update'); leave -o egress/allow/deny/mtu/dns-upstream out");
            }
            else
            {
                await directory.CreateNetworkAsync(Caller.Daemon, DockerNetworkOptions.ToCreateRequest(name, b.Spec, id)).ConfigureAwait(false);
            }
            bindings.Set(b with { Name = name, Adopted = adopted });
            DockerLog.NetworkMade(logger, id[..12], dockerName ?? "(unknown)", name, adopted ? "adopted" : "created");
            return name;
        }
    }

    /// <summary>The Switchyard network of a Docker network was removed behind Docker's back (<c>yard
    /// network rm</c>, <c>yard network prune</c> while no container was on it): Docker still has the
    /// network, so it is made again from the options Docker gave. An adopted one was the user's: not
    /// remade, the error says how to go on.</summary>
    private async Task<string> RemakeAsync(string id, string name)
    {
        using (await LockAsync().ConfigureAwait(false))
        {
            var b = bindings.Find(id) ?? throw ControlException.NotFound($"Docker network {id[..12]} is not served by this driver");
            if (registry.TryGet(name, out _)) return name;
            if (b.Adopted)
                throw ControlException.NotFound($"Switchyard network '{name}', which Docker network {id[..12]} adopted, was removed; create it again (yard network create {name} --subnet {b.Spec.Subnet}) or docker network rm this one");
            await directory.CreateNetworkAsync(Caller.Daemon, DockerNetworkOptions.ToCreateRequest(name, b.Spec, id)).ConfigureAwait(false);
            DockerLog.NetworkMade(logger, id[..12], name, name, "made again: it had been removed outside Docker");
            return name;
        }
    }

    /// <summary>Docker's name for the network, once dockerd has stored it; null when dockerd cannot
    /// be asked or does not know the ID within <c>nameWait</c>.</summary>
    private async Task<string?> LookUpNameAsync(string id)
    {
        var deadline = DateTime.UtcNow + nameWait;
        using var cancel = new CancellationTokenSource(nameWait + TimeSpan.FromSeconds(5));
        while (true)
        {
            try
            {
                if (await engine.NetworkNameAsync(id, cancel.Token).ConfigureAwait(false) is { } name) return name;
            }
            catch (DockerEngineUnavailableException e)
            {
                DockerLog.EngineUnavailable(logger, id[..12], e.Message);
                return null;
            }
            catch (OperationCanceledException) { return null; }
            if (DateTime.UtcNow >= deadline) return null;
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    private string? BoundName(string networkId) => bindings.Find(networkId)?.Name;

    private EndpointRef Find(EndpointRequest r)
    {
        var network = BoundName(r.NetworkID) ?? throw ControlException.NotFound($"Docker network {Short(r.NetworkID)} is not served by this driver");
        return registry.FindEndpoint(network, DockerNetworkOptions.EndpointName(r.EndpointID));
    }

    private static string Short(string id) => id.Length > 12 ? id[..12] : id;

    private async Task<IDisposable> LockAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        return new Release(_lock);
    }

    private sealed class Release(SemaphoreSlim s) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) s.Release(); }
    }
}
