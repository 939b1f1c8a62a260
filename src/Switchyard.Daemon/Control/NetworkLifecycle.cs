using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Resolvers;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Nat;
using Switchyard.Network.Transports;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

/// <summary>What every live network is built with.</summary>
public sealed record DirectoryOptions(string ResolvConfPath, TimeSpan LeaseTime)
{
    public static DirectoryOptions Default => new(HostResolvers.DefaultPath, TimeSpan.FromHours(1));

    /// <summary>How long an API change waits for another change to finish (see <see cref="NetworkRegistry.EnterAsync()"/>).</summary>
    public TimeSpan GateTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The daemon's file descriptors for NAT flows, shared by every network (docs/nat.md, "Fair shares").</summary>
    public FdBudget Fds { get; init; } = FdBudget.Unlimited;

    /// <summary>Opens a network's VXLAN tunnel (settings, MTU, logger, clock); throws <see cref="SocketException"/>
    /// when its address cannot be bound. The data plane's <see cref="VxlanTunnel"/> by default.</summary>
    public Func<VxlanSettings, int, ILogger, TimeProvider, IVxlanTunnel> OpenVxlan { get; init; } =
        static (settings, mtu, logger, time) => VxlanTunnel.Open(settings, mtu, logger, time);
}

/// <summary>Networks: create, change mode, host loopback or VXLAN peers, delete, and restore at
/// startup (the live <see cref="VirtualNetwork"/>, its uplink: a bridged network's LAN or a VXLAN
/// tunnel, its DNS upstreams). Callers hold the gate (see <see cref="NetworkRegistry"/>).</summary>
internal sealed class NetworkLifecycle : IDisposable
{
    private readonly NetworkRegistry _registry;
    private readonly IStateStore _store;
    private readonly EndpointLifecycle _endpoints;
    private readonly RemotePublishedPorts _remotePorts;
    private readonly INetworkEvents _events;
    private readonly HostResolverWatcher _hostResolvers;
    private readonly EgressAuditLog _egressLog;
    private readonly IHostView _host;
    private readonly DirectoryOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public NetworkLifecycle(NetworkRegistry registry, IStateStore store, EndpointLifecycle endpoints, RemotePublishedPorts remotePorts, INetworkEvents events,
        HostResolverWatcher hostResolvers, EgressAuditLog egressLog, IHostView host, DirectoryOptions options, ILoggerFactory loggers, TimeProvider time)
    {
        _remotePorts = remotePorts;
        _registry = registry;
        _store = store;
        _endpoints = endpoints;
        _events = events;
        _hostResolvers = hostResolvers;
        _egressLog = egressLog;
        _host = host;
        _options = options;
        _loggers = loggers;
        _logger = loggers.CreateLogger(DirectoryLog.Category);
        _time = time;
        _hostResolvers.Changed += OnHostResolversChanged;
    }

    public NetworkRecord Create(NetworkCreateRequest r)
    {
        var others = _registry.Snapshot().Select(n => new ExistingNetwork(n.Row.Name, n.Live.Config.Subnet, n.Live.Config.Ipv6, n.Vxlan)).ToList();
        var (row, bridgeInterface) = NetworkPlanner.Plan(r, others, _host, _time.GetUtcNow());
        // The uplink is opened before anything is stored: a bridge or a tunnel port that cannot be had leaves nothing behind.
        var uplink = row.BridgeInterface is { } bridge ? OpenUplink(bridge, restoring: false)
            : StoredVxlan.FromJson(row.VxlanJson) is { } vxlan ? OpenTunnel(row.Name, vxlan, row.Mtu, restoring: false) : null;
        NetworkRecord net;
        bool stored = false;
        try
        {
            _store.InsertNetwork(row);
            stored = true;
            net = Restore(row, uplink);
        }
        catch
        {
            uplink?.Dispose();
            _registry.Remove(r.Name);
            if (stored) _store.DeleteNetwork(r.Name);
            throw;
        }
        string mode = ModeSpec.Name(row.Mode);
        DirectoryLog.NetworkCreated(_logger, r.Name, row.Subnet, row.BridgeInterface is { } b ? $"{mode} on {b}"
            : net.Vxlan is { } v ? $"{(row.Mode == NetworkMode.Bridged ? ModeSpec.BridgedVxlan : mode)}, VXLAN VNI {v.Vni} on {v.Local} to {v.Peers.Count} peer(s)" : mode);
        if (bridgeInterface?.Reason is { } warning) DirectoryLog.BridgeWarning(_logger, r.Name, bridgeInterface.Name, warning);
        return net;
    }

    /// <summary>Changes a network's mode or host loopback. Both shape what its gateway builds
    /// (NAT or none, DHCP and DNS or a bridge), so the live network is rebuilt, which is refused
    /// while guests are attached: they would lose their flows and, across modes, their addresses.</summary>
    public NetworkRecord Update(NetworkRecord net, NetworkUpdateRequest r)
    {
        string name = net.Row.Name;
        if (r.Vxlan is { } peers)
        {
            if (r.Mode is not null || r.HostLoopback is not null)
                throw ControlException.Invalid("change the VXLAN peers and the mode or host loopback in separate requests");
            EditPeers(net, peers);
            if (r.MaxFlows is null && r.DhcpRange is null) return net;
        }
        int? maxFlows = r.MaxFlows is null ? net.Row.MaxFlows : NetworkPlanner.CheckMaxFlows(r.MaxFlows, "maxFlows");
        var (mode, bridge, toVxlan) = r.Mode is null ? new ModeSpec(net.Row.Mode, net.Row.BridgeInterface, net.JoinsOverVxlan) : ModeSpec.Parse(r.Mode);
        CheckVxlanMode(net, mode, toVxlan);
        // To bridged: the same checks as a create (the default route's interface when none is named).
        if (mode == NetworkMode.Bridged && r.Mode is not null && !toVxlan) bridge = _host.BridgeInterface(bridge).Name;
        if (mode != NetworkMode.Nat && net.Row.EgressJson is not null)
            throw ControlException.Invalid($"network '{name}' has an egress policy, which only a nat network can have; clear it first");
        if (mode == NetworkMode.Bridged && net.Row.Ipv6Prefix is not null)
            throw ControlException.Invalid($"network '{name}' has IPv6 ({net.Row.Ipv6Prefix}), which a bridged network cannot have");
        var row = net.Row with { Mode = mode, BridgeInterface = bridge, HostLoopback = r.HostLoopback ?? net.Row.HostLoopback, MaxFlows = maxFlows };
        if (r.DhcpRange is not null) net = SetDhcpRange(net, r.DhcpRange, mode);
        row = row with { DhcpRange = net.Row.DhcpRange };
        if (row == net.Row) return net;
        // The flow cap alone changes live; with a mode or host loopback change it comes with the rebuild.
        if (row with { MaxFlows = net.Row.MaxFlows } == net.Row)
        {
            SetMaxFlows(net, maxFlows);
            return net;
        }
        int attached = _registry.Read(() => net.Endpoints.Count);
        int remote = _registry.Read(() => net.RemotePublished.Count);
        if (remote > 0 && mode is not (NetworkMode.Nat or NetworkMode.Host))
            throw ControlException.Conflict($"network '{name}' has {remote} port(s) published to remote guests, which only a nat or host network can serve; unpublish them first (yard network unpublish {name} SPEC)");
        if (attached > 0)
            throw ControlException.Conflict($"network '{name}' has {attached} endpoint(s) attached ({string.Join(", ", _registry.Read(() => net.Endpoints.Keys.ToList()))}); " +
                $"detach them before changing its {(row.Mode != net.Row.Mode || row.BridgeInterface != net.Row.BridgeInterface ? "mode" : "host loopback")}");
        // A bridged network's uplink is opened before the old network goes: one that cannot be had is
        // refused. A tunnel keeps its address, which the old network holds until it is disposed.
        var uplink = mode == NetworkMode.Bridged && bridge is not null ? OpenUplink(bridge, restoring: false) : null;
        // Stored first: a disk that refuses the change leaves the old network running untouched.
        try
        {
            _store.UpdateNetworkMode(name, row.Mode, row.BridgeInterface, row.HostLoopback);
            if (row.MaxFlows != net.Row.MaxFlows) _store.UpdateNetworkMaxFlows(name, row.MaxFlows);
        }
        catch { uplink?.Dispose(); throw; }
        // The remote guests' host ports close with the old network and listen again on the new one (Restore).
        _remotePorts.StopListening(net);
        net.Live.Dispose();
        NetworkRecord updated;
        try
        {
            if (net.Vxlan is { } vxlan) uplink = OpenTunnel(name, vxlan, row.Mtu, restoring: false);
            updated = Restore(row, uplink);
        }
        catch
        {
            uplink?.Dispose();
            Restore(net.Row);   // as it was: a refused change leaves the network working
            try { _store.UpdateNetworkMode(name, net.Row.Mode, net.Row.BridgeInterface, net.Row.HostLoopback); }
            catch (StateUnwritableException) { }   // the store keeps the new mode; the next restart applies it
            throw;
        }
        DirectoryLog.NetworkUpdated(_logger, name, ModeSpec.Name(row.Mode), row.HostLoopback);
        return updated;
    }

    /// <summary>A VXLAN network keeps its kind of uplink: a gateway host's network (nat, host,
    /// internal) may move between those modes, and a joining one (bridged:vxlan) stays as it is.</summary>
    private static void CheckVxlanMode(NetworkRecord net, NetworkMode mode, bool toVxlan)
    {
        string name = net.Row.Name;
        if (toVxlan && net.Vxlan is null)
            throw ControlException.Invalid($"network '{name}' has no VXLAN tunnel: bridged:vxlan is chosen at create, with --vxlan");
        if (net.JoinsOverVxlan && !toVxlan)
            throw ControlException.Invalid($"network '{name}' joins another host's network over VXLAN (bridged:vxlan): it keeps that mode; remove and create it to change it");
        if (net.Vxlan is not null && !net.JoinsOverVxlan && mode == NetworkMode.Bridged)
            throw ControlException.Invalid($"network '{name}' is a VXLAN gateway host's network: it may change between nat, host and internal; a network that joins another host's is created with --mode bridged:vxlan");
    }

    /// <summary>Peers added to or removed from a network's tunnel, live: stored first, then the
    /// tunnel replicates to the new list (and forgets MACs learnt behind a removed peer).</summary>
    private void EditPeers(NetworkRecord net, VxlanUpdate edit)
    {
        var current = net.Vxlan ?? throw ControlException.Invalid($"network '{net.Row.Name}' has no VXLAN tunnel (create it with --vxlan VNI)");
        var next = VxlanPlanner.EditPeers(current, edit, net.Row.Name);
        if (next.Peers.SequenceEqual(current.Peers)) return;
        string json = next.ToJson();
        _store.UpdateNetworkVxlan(net.Row.Name, json);
        net.Row = net.Row with { VxlanJson = json };
        // A tunnel that could not be opened at restore takes the new peers at the next restart.
        net.Tunnel?.SetPeers(next.ToSettings().Peers);
        DirectoryLog.VxlanPeersChanged(_logger, net.Row.Name, next.Peers.Count == 0 ? "none" : string.Join(", ", next.Peers));
    }

    /// <summary>A network's dynamic pool changes live: leases outside the new range are forgotten
    /// (their guests' next renewal gets a NAK); a range over endpoint reservations is refused.</summary>
    private NetworkRecord SetDhcpRange(NetworkRecord net, string text, NetworkMode mode)
    {
        var subnet = net.Live.Config.Subnet;
        var stored = DhcpRanges.Check(text, subnet, mode);
        if (stored == net.Row.DhcpRange) return net;
        var range = DhcpRanges.Effective(subnet, stored, mode, hasTunnel: net.Row.VxlanJson is not null);
        if (range is { } r) DhcpRanges.CheckFree(net.Row.Name, r, _store.Leases(net.Row.Name));
        _store.UpdateNetworkDhcpRange(net.Row.Name, stored);
        net.Row = net.Row with { DhcpRange = stored };
        net.Live.SetDhcpRange(range);
        DirectoryLog.DhcpRangeChanged(_logger, net.Row.Name, range?.ToString() ?? "none");
        return net;
    }

    /// <summary>A network's NAT flow cap changes live: new flows meet it at once, open ones stay.</summary>
    private void SetMaxFlows(NetworkRecord net, int? maxFlows)
    {
        if (maxFlows == net.Row.MaxFlows) return;
        _store.UpdateNetworkMaxFlows(net.Row.Name, maxFlows);
        net.Row = net.Row with { MaxFlows = maxFlows };
        if (net.Live.Nat is { } nat) nat.MaxFlows = maxFlows ?? NatEngine.DefaultMaxFlows;
        DirectoryLog.MaxFlowsChanged(_logger, net.Row.Name, maxFlows ?? NatEngine.DefaultMaxFlows);
    }

    public void Delete(string name)
    {
        var net = _registry.Find(name);
        var attached = _registry.Read(() => net.Endpoints.Keys.ToList());
        if (attached.Count > 0)
            throw ControlException.Conflict($"network '{name}' has {attached.Count} endpoint(s) attached ({string.Join(", ", attached)}); detach them first");
        _store.DeleteNetwork(name);   // its remote guests' published ports go with it (ON DELETE CASCADE)
        _registry.Remove(name);
        _remotePorts.StopListening(net);
        net.Live.Dispose();
        DirectoryLog.NetworkRemoved(_logger, name);
    }

    /// <summary>Builds the live network of a stored row, registers it, and brings its stored endpoints back.</summary>
    public NetworkRecord Restore(NetworkRow row, IUplinkTransport? uplink = null)
    {
        var upstreams = JsonSerializer.Deserialize(row.DnsUpstreamsJson, DaemonJsonContext.Default.ListString) ?? [];
        var subnet = Ipv4Subnet.Parse(row.Subnet);
        var config = new NetworkConfig(row.Name, row.Mode, subnet, row.Mtu, row.Domain, MacAddress.Parse(row.GatewayMac),
            ResolverSource(upstreams), _options.LeaseTime, row.HostLoopback, StoredEgressPolicy.FromJson(row.EgressJson),
            row.Ipv6Prefix is null ? null : Ipv6Prefix.Parse(row.Ipv6Prefix), row.MaxFlows ?? NatEngine.DefaultMaxFlows,
            DhcpRanges.Effective(subnet, row.DhcpRange, row.Mode, hasTunnel: row.VxlanJson is not null));
        string? uplinkError = null;
        if (uplink is null && StoredVxlan.FromJson(row.VxlanJson) is { } vxlan)
        {
            // As a bridge's interface: a tunnel whose address cannot be had at startup (taken, or
            // gone from the host) leaves the network up without it, and says so.
            try { uplink = OpenTunnel(row.Name, vxlan, row.Mtu, restoring: true); }
            catch (ControlException e)
            {
                uplinkError = e.Message;
                DirectoryLog.VxlanRestoreFailed(_logger, row.Name, vxlan.Local, e.Message);
            }
        }
        else if (row.Mode == NetworkMode.Bridged && uplink is null && row.BridgeInterface is { } bridge)
        {
            // At startup an interface that is gone or down does not keep the daemon from starting:
            // the network comes back without its LAN (its guests reach each other), and says so.
            try { uplink = OpenUplink(bridge, restoring: true); }
            catch (ControlException e)
            {
                uplinkError = e.Message;
                DirectoryLog.BridgeRestoreFailed(_logger, row.Name, bridge, e.Message);
            }
        }
        // The daemon's clock, as every timer of the control plane's: a test's fake clock drives the leases too.
        var live = new VirtualNetwork(config, _events, _loggers, uplink, _egressLog, _time, _options.Fds);
        var net = new NetworkRecord
        {
            Row = row, Live = live, DnsUpstreams = upstreams, FollowsHostResolvers = upstreams.Count == 0,
            UplinkError = uplinkError,
        };
        // The pool's guests keep their addresses (and names) across restarts, like endpoints.
        live.RestoreRemoteLeases(_store.RemoteLeases(row.Name).Select(l => new RemoteLease(l.Mac, l.Ipv4, l.HostName,
            l.State == LeaseStatus.Bound ? LeaseState.Bound : LeaseState.Released, l.Expires)));
        _registry.Set(net);
        _remotePorts.Restore(net);
        foreach (var e in _store.Endpoints(row.Name)) _endpoints.Restore(net, e);
        return net;
    }

    /// <summary>The bridged network's AF_PACKET uplink on <paramref name="name"/>.</summary>
    private IUplinkTransport OpenUplink(string name, bool restoring)
    {
        if (!OperatingSystem.IsLinux())
            throw ControlException.Unavailable(restoring, "bridged networks need Linux for now (see docs/macos.md)");
        try { return PacketUplinkTransport.Open(name, _loggers.CreateLogger("Switchyard.Transports")); }
        catch (PlatformException e) { throw ControlException.Unavailable(restoring, $"cannot bridge to '{name}': {e.Message}"); }
    }

    /// <summary>A network's VXLAN tunnel, bound now (a port in use or an address the host does not
    /// have fails here, before anything is stored).</summary>
    private IVxlanTunnel OpenTunnel(string network, StoredVxlan vxlan, int mtu, bool restoring)
    {
        try { return _options.OpenVxlan(vxlan.ToSettings(), mtu, _loggers.CreateLogger("Switchyard.Vxlan"), _time); }
        catch (SocketException e)
        {
            string message = $"cannot open network '{network}''s VXLAN tunnel on {vxlan.Local}: {e.Message}";
            // A port another socket holds is a clash (409); an address the host lacks is a bad request.
            if (e.SocketErrorCode == SocketError.AddressAlreadyInUse && !restoring) throw ControlException.Conflict(message + " (choose another --vxlan-local port)");
            throw ControlException.Unavailable(restoring, message);
        }
    }

    /// <summary>Explicit upstreams, "none", or the host's resolvers as <see cref="HostResolverWatcher"/>
    /// holds them now (it follows the file, so a VPN's rewrite applies within a second).</summary>
    private Func<IReadOnlyList<IPEndPoint>> ResolverSource(List<string> upstreams)
    {
        if (upstreams.Count == 1 && upstreams[0] == "none") return () => [];
        if (upstreams.Count > 0)
        {
            var fixedList = upstreams.Select(u => { HostResolvers.TryParseUpstream(u, out var ep); return ep; }).ToArray();
            return () => fixedList;
        }
        var host = _hostResolvers;
        return () => host.Current;
    }

    /// <summary>The host's resolver file changed: every network that follows it asks the new
    /// resolvers from its next query on, with an empty cache and no socket to a resolver that is
    /// gone. Networks with their own upstreams are not touched.</summary>
    private void OnHostResolversChanged(IReadOnlyList<IPEndPoint> resolvers)
    {
        var following = _registry.Snapshot().Where(n => n.FollowsHostResolvers).ToList();
        foreach (var n in following) n.Live.Forwarder?.OnUpstreamsChanged();
        DirectoryLog.HostResolversApplied(_logger, following.Count);
    }

    public void Dispose() => _hostResolvers.Changed -= OnHostResolversChanged;
}
