using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Egress;
using Switchyard.Network.Ipam;
using Switchyard.Network.Nat;
using Switchyard.Network.Transports;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Daemon.Networks;

public sealed record DirectoryOptions(string ResolvConfPath, TimeSpan LeaseTime)
{
    public static DirectoryOptions Default => new(HostResolvers.DefaultPath, TimeSpan.FromHours(1));
}

/// <summary>The daemon's networks and endpoints: creates and restores them, validates every
/// request before it changes anything, and keeps <see cref="StateStore"/> in step. Changes are
/// serialized by one gate, so concurrent API calls see each other's results whole.</summary>
public sealed class NetworkDirectory : INetworkEvents, IDisposable
{
    public const string DefaultNetwork = "default";
    public static readonly Ipv4Subnet DefaultSubnet = Ipv4Subnet.Parse("192.168.64.0/24");
    private static readonly TimeSpan QuarantineTime = TimeSpan.FromHours(1);
    private static readonly TimeSpan DeclineInterval = TimeSpan.FromMinutes(1);
    private readonly Dictionary<(string, string), DateTimeOffset> _lastDecline = [];

    private readonly StateStore _store;
    private readonly DirectoryOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TransportFactory _transports;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, NetworkRecord> _networks = new(StringComparer.Ordinal);
    private readonly HostResolverWatcher _hostResolvers;
    private readonly EgressAuditLog _egressLog;

    public NetworkDirectory(StateStore store, DirectoryOptions options, ILoggerFactory loggers, TimeProvider? time = null)
    {
        _store = store;
        _options = options;
        _loggers = loggers;
        _logger = loggers.CreateLogger<NetworkDirectory>();
        _transports = new TransportFactory(loggers);
        _time = time ?? TimeProvider.System;
        _hostResolvers = new HostResolverWatcher(options.ResolvConfPath, loggers.CreateLogger<HostResolverWatcher>());
        _hostResolvers.Changed += OnHostResolversChanged;
        _egressLog = new EgressAuditLog(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(store.Path))!, "egress.log"),
            loggers.CreateLogger<EgressAuditLog>());
    }

    /// <summary>Every egress decision of every network (docs/egress.md).</summary>
    internal EgressAuditLog EgressLog => _egressLog;

    /// <summary>The host's resolver file changed: every network that follows it asks the new
    /// resolvers from its next query on, with an empty cache and no socket to a resolver that is
    /// gone. Networks with their own upstreams are not touched.</summary>
    private void OnHostResolversChanged(IReadOnlyList<IPEndPoint> resolvers)
    {
        List<NetworkRecord> following;
        lock (_networks) following = _networks.Values.Where(n => n.FollowsHostResolvers).ToList();
        foreach (var n in following) n.Live.Forwarder?.OnUpstreamsChanged();
        DirectoryLog.HostResolversApplied(_logger, following.Count);
    }

    /// <summary>Brings back every stored network and endpoint; on a fresh state directory,
    /// creates the network <c>default</c>.</summary>
    public async Task StartAsync(bool createDefault)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var row in _store.Networks()) Restore(row);
            if (createDefault && _networks.Count == 0)
                CreateLocked(new NetworkCreateRequest { Name = DefaultNetwork, Subnet = DefaultSubnet.ToString() });
        }
        finally { _gate.Release(); }
    }

    public int NetworkCount { get { lock (_networks) return _networks.Count; } }
    public int EndpointCount { get { lock (_networks) return _networks.Values.Sum(n => n.Endpoints.Count); } }

    // ------------------------------------------------------------------ networks

    public async Task<NetworkInfo> CreateNetworkAsync(NetworkCreateRequest request)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try { return Describe(CreateLocked(request)); }
        finally { _gate.Release(); }
    }

    public IReadOnlyList<NetworkInfo> ListNetworks()
    {
        lock (_networks) return _networks.Values.Select(Describe).ToList();
    }

    public NetworkInfo GetNetwork(string name)
    {
        lock (_networks) return Describe(Find(name));
    }

    /// <summary>Changes a network's mode or host loopback. Both shape what its gateway builds
    /// (NAT or none, DHCP and DNS or a bridge), so the live network is rebuilt, which is refused
    /// while guests are attached: they would lose their flows and, across modes, their addresses.</summary>
    public async Task<NetworkInfo> UpdateNetworkAsync(string name, NetworkUpdateRequest r)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            NetworkRecord net;
            lock (_networks) net = Find(name);
            if (r.Egress is { } edit)
            {
                // An edit of the policy applies live; with a mode change it would apply to a network about to be rebuilt.
                if (r.Mode is not null || r.HostLoopback is not null)
                    throw ControlException.Invalid("change the egress policy and the mode or host loopback in separate requests");
                UpdateEgress(net, edit);
                return Describe(net);
            }
            var (mode, bridge) = r.Mode is null ? (ParseMode(net.Row.Mode).Mode, net.Row.BridgeInterface) : ParseMode(r.Mode);
            // To bridged: the same checks as a create (the default route's interface when none is named).
            if (mode == NetworkMode.Bridged && r.Mode is not null) bridge = CheckBridgeInterface(bridge).Name;
            if (mode != NetworkMode.Nat && net.Row.EgressJson is not null)
                throw ControlException.Invalid($"network '{name}' has an egress policy, which only a nat network can have; clear it first");
            if (mode == NetworkMode.Bridged && net.Row.Ipv6Prefix is not null)
                throw ControlException.Invalid($"network '{name}' has IPv6 ({net.Row.Ipv6Prefix}), which a bridged network cannot have");
            var row = net.Row with { Mode = ModeName(mode), BridgeInterface = bridge, HostLoopback = r.HostLoopback ?? net.Row.HostLoopback };
            if (row == net.Row) return Describe(net);
            if (net.Endpoints.Count > 0)
                throw ControlException.Conflict($"network '{name}' has {net.Endpoints.Count} endpoint(s) attached ({string.Join(", ", net.Endpoints.Keys)}); " +
                    $"detach them before changing its {(row.Mode != net.Row.Mode || row.BridgeInterface != net.Row.BridgeInterface ? "mode" : "host loopback")}");
            // A bridged network's uplink is opened before the old network goes: one that cannot be had is a 400.
            var uplink = mode == NetworkMode.Bridged ? OpenUplink(bridge!, restoring: false) : null;
            net.Live.Dispose();
            NetworkRecord updated;
            try { updated = Restore(row, uplink); }
            catch
            {
                uplink?.Dispose();
                Restore(net.Row);   // as it was: a refused change leaves the network working
                throw;
            }
            _store.UpdateNetworkMode(name, row.Mode, row.BridgeInterface, row.HostLoopback);
            DirectoryLog.NetworkUpdated(_logger, name, row.Mode, row.HostLoopback);
            return Describe(updated);
        }
        finally { _gate.Release(); }
    }

    public async Task DeleteNetworkAsync(string name)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            NetworkRecord net;
            lock (_networks) net = Find(name);
            if (net.Endpoints.Count > 0)
                throw ControlException.Conflict($"network '{name}' has {net.Endpoints.Count} endpoint(s) attached ({string.Join(", ", net.Endpoints.Keys)}); detach them first");
            _store.DeleteNetwork(name);
            lock (_networks) _networks.Remove(name);
            net.Live.Dispose();
            DirectoryLog.NetworkRemoved(_logger, name);
        }
        finally { _gate.Release(); }
    }

    private NetworkRecord CreateLocked(NetworkCreateRequest r)
    {
        if (Names.CheckLabel("network", r.Name) is { } nameError) throw ControlException.Invalid(nameError);
        lock (_networks)
            if (_networks.ContainsKey(r.Name)) throw ControlException.Conflict($"network '{r.Name}' already exists");

        var (mode, bridge) = ParseMode(r.Mode);
        HostInterface? bridgeInterface = null;
        if (mode == NetworkMode.Bridged)
        {
            // The LAN's DHCP server and router serve a bridged network's guests: nothing of ours to configure.
            if (r.Subnet is not null) throw ControlException.Invalid("--subnet does not apply to a bridged network: the LAN's DHCP server gives its guests their addresses");
            if (r.DnsUpstreams is { Count: > 0 }) throw ControlException.Invalid("--dns-upstream does not apply to a bridged network: its guests use the LAN's DNS servers");
            bridgeInterface = CheckBridgeInterface(bridge);
            bridge = bridgeInterface.Name;
        }
        // A bridged network's frames are the LAN's: its MTU is the interface's unless given.
        int mtu = r.Mtu ?? (bridgeInterface is { Mtu: >= NetworkConfig.MinMtu and <= NetworkConfig.MaxMtu } b ? b.Mtu : NetworkConfig.DefaultMtu);
        if (mtu < NetworkConfig.MinMtu || mtu > NetworkConfig.MaxMtu)
            throw ControlException.Invalid($"MTU {mtu} is out of range ({NetworkConfig.MinMtu}-{NetworkConfig.MaxMtu})");
        string domain = (r.Domain ?? $"{r.Name}.internal").TrimEnd('.').ToLowerInvariant();
        if (Names.CheckDomain(domain) is { } domainError) throw ControlException.Invalid(domainError);
        var upstreams = (r.DnsUpstreams ?? []).ToList();
        foreach (var u in upstreams)
            if (u != "none" && !HostResolvers.TryParseUpstream(u, out _))
                throw ControlException.Invalid($"invalid DNS upstream '{u}': expected IP, IP:PORT or [IPv6]:PORT");
        if (upstreams.Contains("none") && upstreams.Count > 1) throw ControlException.Invalid("DNS upstream 'none' cannot be combined with resolvers");
        foreach (var (k, _) in r.Labels ?? new Dictionary<string, string>())
            if (string.IsNullOrWhiteSpace(k) || k.Contains('=')) throw ControlException.Invalid($"invalid label key '{k}'");
        var egress = ParseEgress(r.Egress, mode);

        Ipv6Prefix? ipv6 = null;
        if (r.Ipv6 is { } v6)
        {
            if (mode == NetworkMode.Bridged) throw ControlException.Invalid("IPv6 is for nat, host and internal networks; a bridged network's guests get IPv6 from the LAN's router");
            if (v6 == "auto") ipv6 = Ipv6Prefix.StableUla(r.Name);
            else if (!Ipv6Prefix.TryParseSlaac(v6, out var p, out var v6Error)) throw ControlException.Invalid($"invalid IPv6 prefix {v6Error}");
            else ipv6 = p;
            lock (_networks)
                foreach (var other in _networks.Values)
                    if (other.Live.Config.Ipv6 == ipv6)
                        throw ControlException.Conflict($"IPv6 prefix {ipv6} is network '{other.Row.Name}'s");
            // Like an IPv4 subnet: a prefix the host already routes somewhere would hide those
            // addresses from the guests (NAT66 never forwards a network's own prefix).
            foreach (var (network, length, dev) in HostRoutes.ReadIpv6())
            {
                var route = new Ipv6Prefix(Ipv6Address.Read(network), length);
                if (route.Contains(ipv6.Value.Network) || ipv6.Value.Contains(route.Network))
                    throw ControlException.Conflict($"IPv6 prefix {ipv6} overlaps the host's route {route} on {dev}");
            }
        }

        // The host's routes are read once per create, however many candidates PickSubnet tries.
        var routes = HostRoutes.ReadIpv4();
        Ipv4Subnet subnet;
        if (r.Subnet is null) subnet = PickSubnet(routes);
        else if (SubnetConflict(subnet = ParseSubnet(r.Subnet), routes) is { } conflict) throw ControlException.Conflict(conflict);

        var row = new NetworkRow(r.Name, ModeName(mode), bridge, subnet.ToString(), mtu, domain,
            JsonSerializer.Serialize(upstreams, DaemonJsonContext.Default.ListString),
            JsonSerializer.Serialize(new Dictionary<string, string>(r.Labels ?? new Dictionary<string, string>()), DaemonJsonContext.Default.DictionaryStringString),
            GatewayMacFor(r.Name).ToString(), _time.GetUtcNow(), r.HostLoopback ?? true, EgressJson(egress), ipv6?.ToString());
        // The uplink is opened before anything is stored: a bridge that cannot be had leaves nothing behind.
        var uplink = bridge is null ? null : OpenUplink(bridge, restoring: false);
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
            lock (_networks) _networks.Remove(r.Name);
            if (stored) _store.DeleteNetwork(r.Name);
            throw;
        }
        DirectoryLog.NetworkCreated(_logger, r.Name, row.Subnet, bridge is null ? row.Mode : $"{row.Mode} on {bridge}");
        if (bridgeInterface?.Reason is { } warning) DirectoryLog.BridgeWarning(_logger, r.Name, bridgeInterface.Name, warning);
        return net;
    }

    /// <summary>The interface a bridged network may join: named, or the one of the host's default
    /// route; it must exist, be up, and be Ethernet (not the loopback).</summary>
    private static HostInterface CheckBridgeInterface(string? name)
    {
        name ??= HostRoutes.DefaultRouteInterface()
            ?? throw ControlException.Invalid("the host has no default route to take the bridged interface from; name one with --mode bridged:IFACE (see yard interfaces)");
        if (!OperatingSystem.IsLinux())
            throw ControlException.Invalid("bridged networks need Linux for now (on macOS they will use vmnet's bridged mode; see docs/macos.md)");
        var iface = HostInterfaces.Find(name)
            ?? throw ControlException.Invalid($"cannot bridge to '{Printable(name)}': the host has no such interface (see yard interfaces)");
        if (!iface.CanBridge) throw ControlException.Invalid($"cannot bridge to '{iface.Name}': {iface.Reason}");
        return iface;
    }

    private static string Printable(string s) => new(s.Select(c => char.IsControl(c) ? '?' : c).Take(64).ToArray());

    /// <summary>The bridged network's AF_PACKET uplink on <paramref name="name"/>.</summary>
    private IUplinkTransport OpenUplink(string name, bool restoring)
    {
        if (!OperatingSystem.IsLinux())
            throw ControlException.Unavailable(restoring, "bridged networks need Linux for now (see docs/macos.md)");
        try { return PacketUplinkTransport.Open(name, _loggers.CreateLogger("Switchyard.Transports")); }
        catch (PlatformException e) { throw ControlException.Unavailable(restoring, $"cannot bridge to '{name}': {e.Message}"); }
    }

    private NetworkRecord Restore(NetworkRow row, IUplinkTransport? uplink = null)
    {
        var upstreams = JsonSerializer.Deserialize(row.DnsUpstreamsJson, DaemonJsonContext.Default.ListString) ?? [];
        var (mode, _) = ParseMode(row.Mode);
        var config = new NetworkConfig(row.Name, mode, Ipv4Subnet.Parse(row.Subnet), row.Mtu, row.Domain, MacAddress.Parse(row.GatewayMac),
            ResolverSource(upstreams), _options.LeaseTime, row.HostLoopback, StoredEgress(row.EgressJson),
            row.Ipv6Prefix is null ? null : Ipv6Prefix.Parse(row.Ipv6Prefix));
        string? uplinkError = null;
        if (mode == NetworkMode.Bridged && uplink is null && row.BridgeInterface is { } bridge)
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
        var live = new VirtualNetwork(config, this, _loggers, uplink);
        live.Egress.Audit = _egressLog;
        var net = new NetworkRecord
        {
            Row = row, Live = live, DnsUpstreams = upstreams, FollowsHostResolvers = upstreams.Count == 0,
            UplinkError = uplinkError,
        };
        lock (_networks) _networks[row.Name] = net;
        foreach (var e in _store.Endpoints(row.Name)) RestoreEndpoint(net, e);
        return net;
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

    private static (NetworkMode Mode, string? Bridge) ParseMode(string? text)
    {
        switch (text ?? "nat")
        {
            case "nat": return (NetworkMode.Nat, null);
            case "host": return (NetworkMode.Host, null);
            case "internal": return (NetworkMode.Internal, null);
            case "bridged": return (NetworkMode.Bridged, null);
            case var s when s.StartsWith("bridged:", StringComparison.Ordinal) && s.Length > 8: return (NetworkMode.Bridged, s[8..]);
            default: throw ControlException.Invalid($"unknown mode '{text}': use nat, host, internal, bridged or bridged:IFACE");
        }
    }

    private static string ModeName(NetworkMode mode) => mode.ToString().ToLowerInvariant();

    // ------------------------------------------------------------------ egress policies

    /// <summary>A policy from the API (null for none); a bad rule is a 400 naming it. Only a nat
    /// network has an outside to guard.</summary>
    private static EgressPolicy? ParseEgress(EgressPolicySpec? spec, NetworkMode mode)
    {
        if (spec is null) return null;
        if (mode != NetworkMode.Nat)
            throw ControlException.Invalid($"egress policies apply to nat networks; a {ModeName(mode)} network never reaches the outside");
        try { return EgressPolicy.Create(spec.Default ?? "", spec.Allow, spec.Deny); }
        catch (FormatException e) { throw ControlException.Invalid(e.Message); }
    }

    private static EgressPolicySpec? DescribeEgress(EgressPolicy? policy) => policy is null ? null : new EgressPolicySpec
    {
        Default = policy.DefaultText,
        Allow = policy.Allow.Select(r => r.ToString()).ToList(),
        Deny = policy.Deny.Select(r => r.ToString()).ToList(),
    };

    private static string? EgressJson(EgressPolicy? policy) =>
        policy is null ? null : JsonSerializer.Serialize(DescribeEgress(policy)!, SwitchyardJsonContext.Default.EgressPolicySpec);

    /// <summary>A stored policy (written by <see cref="EgressJson"/>, so it parses).</summary>
    private static EgressPolicy? StoredEgress(string? json) =>
        json is null || JsonSerializer.Deserialize(json, SwitchyardJsonContext.Default.EgressPolicySpec) is not { } spec
            ? null : EgressPolicy.Create(spec.Default, spec.Allow, spec.Deny);

    /// <summary>Applies an edit to a network's policy, live (new flows see it at once) and stored.</summary>
    private void UpdateEgress(NetworkRecord net, EgressUpdate u)
    {
        var current = net.Live.Egress.Policy;
        EgressPolicy? updated;
        if (u.Clear)
        {
            if (u.Default is not null || u.AddAllow is not null || u.RemoveAllow is not null || u.AddDeny is not null || u.RemoveDeny is not null)
                throw ControlException.Invalid("clear removes the egress policy: give no rules or default with it");
            updated = null;
        }
        else
        {
            var (mode, _) = ParseMode(net.Row.Mode);
            // A first policy defaults to an allowlist when it gets allow rules, a denylist otherwise.
            var start = current ?? ParseEgress(new EgressPolicySpec { Default = u.Default ?? (u.AddAllow is { Count: > 0 } ? "deny" : "allow") }, mode)!;
            try { updated = start.Edit(u.Default, u.AddAllow, u.RemoveAllow, u.AddDeny, u.RemoveDeny); }
            catch (FormatException e) { throw ControlException.Invalid(e.Message); }
        }
        string? json = EgressJson(updated);
        _store.UpdateNetworkEgress(net.Row.Name, json);
        net.Row = net.Row with { EgressJson = json };
        net.Live.Egress.Policy = updated;
        DirectoryLog.EgressUpdated(_logger, net.Row.Name, updated is null ? "none" : $"{updated.DefaultText}, {updated.Allow.Count} allow and {updated.Deny.Count} deny rule(s)");
    }

    private static Ipv4Subnet ParseSubnet(string text)
    {
        if (!Ipv4Subnet.TryParse(text, out var subnet, out var error)) throw ControlException.Invalid(error!);
        if (subnet.PrefixLength is < 8 or > 30)
            throw ControlException.Invalid($"subnet {text}: prefix length must be 8-30 (room for a gateway and guests)");
        return subnet;
    }

    /// <summary>Why <paramref name="subnet"/> cannot be used (it overlaps another network or a
    /// host route), or null when it is free.</summary>
    private string? SubnetConflict(Ipv4Subnet subnet, IReadOnlyList<(uint Network, int PrefixLength, string Interface)> routes)
    {
        lock (_networks)
            foreach (var other in _networks.Values)
                if (Ipv4Subnet.Parse(other.Row.Subnet).Overlaps(subnet))
                    return $"subnet {subnet} overlaps network '{other.Row.Name}' ({other.Row.Subnet})";
        foreach (var (network, prefix, iface) in routes)
        {
            var route = new Ipv4Subnet(new Ipv4Address(network), prefix);
            if (prefix > 0 && route.Overlaps(subnet))
                return $"subnet {subnet} overlaps the host route {route} on {iface}; choose another with --subnet";
        }
        return null;
    }

    /// <summary>The first free 192.168.N.0/24 from 192.168.64.0/24 on (apple/container's range).</summary>
    private Ipv4Subnet PickSubnet(IReadOnlyList<(uint Network, int PrefixLength, string Interface)> routes)
    {
        for (uint n = 64; n < 256; n++)
        {
            var candidate = new Ipv4Subnet(new Ipv4Address(0xC0A80000u | (n << 8)), 24);
            if (SubnetConflict(candidate, routes) is null) return candidate;
        }
        throw ControlException.Conflict("no free 192.168.N.0/24 subnet is left; give one with --subnet");
    }

    /// <summary>A stable, locally administered MAC per network name, so the gateway keeps its MAC
    /// (and guests' ARP caches stay right) across restarts.</summary>
    private static MacAddress GatewayMacFor(string network) =>
        MacAddress.LocallyAdministered(SHA256.HashData(Encoding.UTF8.GetBytes("switchyard-gateway:" + network)));

    private NetworkRecord Find(string name) =>
        _networks.TryGetValue(name, out var n) ? n : throw ControlException.NotFound($"network '{name}' does not exist");

    // ------------------------------------------------------------------ endpoints

    public Task<EndpointInfo> AttachAsync(string network, EndpointAttachRequest r) =>
        AttachCoreAsync(network, r, (spec, config, net) => _transports.Create(spec, config, net, restoring: false));

    /// <summary>The fd handoff: attaches an endpoint whose transport is one end of a new socket
    /// pair, and returns the other end for the caller to pass to the VM process. The endpoint is
    /// detached when the VM closes its end (the pair cannot outlive it, nor the daemon).</summary>
    public async Task<(EndpointInfo Info, SafeFileDescriptorHandle TheirEnd)> AttachSocketPairAsync(string network, EndpointAttachRequest r)
    {
        // A datagram pair cannot tell that the VM closed its end until something is sent to it,
        // so a new handoff for the same name takes over an earlier handed-over endpoint.
        bool replace;
        lock (_networks) replace = _networks.TryGetValue(network, out var n) && n.Endpoints.TryGetValue(r.Name, out var old) && old.Transport.Kind == "fd";
        if (replace) await DetachIfCurrentAsync(network, r.Name, null).ConfigureAwait(false);
        SafeFileDescriptorHandle? theirs = null;
        EndpointInfo info;
        try
        {
        info = await AttachCoreAsync(network, r with { Transport = new TransportSpec { Kind = "fd", Stream = r.Transport?.Stream ?? false } },
            (spec, config, net) =>
            {
                var (ours, other) = FdPassing.CreatePair(spec.Stream ? System.Net.Sockets.SocketType.Stream : System.Net.Sockets.SocketType.Dgram);
                theirs?.Dispose();
                theirs = other;
                var transport = _transports.FromSocketPair(ours, spec.Stream, net);
                // Closed is raised on the transport's own receive loop (or a sender's thread), and
                // detaching disposes the transport, which waits for that loop: detach elsewhere, or
                // the loop waits on itself (2 s, holding the directory's gate) and a sender blocks.
                void OnClosed() => _ = Task.Run(() => DetachIfCurrentAsync(network, r.Name, transport));
                if (transport is StreamTransport s) s.Closed += OnClosed;
                else if (transport is DgramTransport d) d.Closed += OnClosed;
                return transport;
            }).ConfigureAwait(false);
        }
        catch
        {
            theirs?.Dispose(); // the caller's end of a pair whose endpoint did not come to be
            throw;
        }
        return (info, theirs!);
    }

    /// <summary>Detaches a handed-over endpoint if it still has <paramref name="transport"/> (any, when null).</summary>
    private async Task DetachIfCurrentAsync(string network, string name, IFrameTransport? transport)
    {
        try
        {
            bool current;
            lock (_networks)
                current = _networks.TryGetValue(network, out var n) && n.Endpoints.TryGetValue(name, out var e)
                    && e.Transport.Kind == "fd" && (transport is null || e.Port?.Transport == transport);
            if (current) await DetachAsync(network, name).ConfigureAwait(false);
        }
        catch (ControlException) { /* already gone */ }
    }

    private async Task<EndpointInfo> AttachCoreAsync(string network, EndpointAttachRequest r,
        Func<TransportSpec, EndpointConfig, NetworkConfig, IFrameTransport> createTransport)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            NetworkRecord net;
            lock (_networks) net = Find(network);
            if (Names.CheckLabel("endpoint", r.Name) is { } nameError) throw ControlException.Invalid(nameError);
            if (Names.Reserved.Contains(r.Name)) throw ControlException.Invalid($"'{r.Name}' is reserved for the gateway; choose another endpoint name");
            if (net.Endpoints.ContainsKey(r.Name)) throw ControlException.Conflict($"endpoint '{r.Name}' is already attached to network '{network}'");
            var aliases = CheckAliases(net, r.Name, r.Aliases ?? []);
            var egress = ParseEgress(r.Egress, ParseMode(net.Row.Mode).Mode);
            var transport = TransportFactory.Normalize(r.Transport, macGiven: r.Mac is not null);
            bool bridged = net.Live.Config.Mode == NetworkMode.Bridged;
            if (bridged && transport.Configure)
                throw ControlException.Invalid($"--configure does not apply to bridged network '{network}': the LAN's DHCP server configures its guests (run a DHCP client in the guest)");
            if (bridged && r.Ip is not null)
                throw ControlException.Invalid($"--ip does not apply to bridged network '{network}': the LAN's DHCP server chooses its guests' addresses");
            // The same guest (namespace) on several networks: its NICs are eth0, eth1, ... in attach
            // order, and exactly one of them gives it a default route.
            var siblings = SameGuest(transport);
            if (r.Transport?.Ifname is null && siblings.Count > 0) transport = transport with { Ifname = NextIfname(siblings) };
            bool defaultRoute = r.DefaultRoute ?? !siblings.Any(s => s.Record.Port?.DefaultRoute ?? s.Record.Config.DefaultRoute);
            var publish = CheckPublish(net, r.Publish ?? []);
            // Guests of networks bridged to the same interface share one LAN: a MAC may be on one of them only.
            var lanMacs = bridged ? MacsOnLan(net) : [];
            var subnet = net.Live.Config.Subnet;
            var leases = _store.Leases(network);
            var previous = leases.FirstOrDefault(l => l.Endpoint == r.Name);

            MacAddress mac;
            if (r.Mac is not null)
            {
                if (!MacAddress.TryParse(r.Mac, out mac)) throw ControlException.Invalid($"'{r.Mac}' is not a MAC address (expected six hex pairs such as 02:00:00:00:00:01)");
                if (mac.IsMulticast || mac == MacAddress.Zero) throw ControlException.Invalid($"{r.Mac} is not a unicast MAC address");
                if (mac == net.Live.Config.GatewayMac || leases.Any(l => l.Endpoint != r.Name && l.Mac == mac.ToString()))
                    throw ControlException.Conflict($"MAC {mac} is already used on network '{network}'");
            }
            else if (previous is not null) mac = MacAddress.Parse(previous.Mac);
            else
            {
                do mac = MacAddress.LocallyAdministered(RandomNumberGenerator.GetBytes(6));
                while (leases.Any(l => l.Mac == mac.ToString()) || lanMacs.ContainsKey(mac));
            }
            if (lanMacs.TryGetValue(mac, out var lanHolder))
                throw ControlException.Conflict($"MAC {mac} is already used on {lanHolder}, which shares the LAN of {net.Row.BridgeInterface}");

            Ipv4Address ip;
            string? evicted = null;
            var quarantined = _store.Quarantined(network).Where(q => q.Until > _time.GetUtcNow()).Select(q => q.Ipv4).ToHashSet();
            if (r.Ip is not null)
            {
                if (!Ipv4Address.TryParse(r.Ip, out ip)) throw ControlException.Invalid($"'{r.Ip}' is not an IPv4 address");
                if (!AddressAllocator.IsAssignable(subnet, ip, out var why)) throw ControlException.Invalid(why!);
                var holder = leases.FirstOrDefault(l => l.Endpoint != r.Name && l.Ipv4 == ip.ToString());
                if (holder is not null)
                    throw ControlException.Conflict($"{ip} is already reserved for endpoint '{holder.Endpoint}' on network '{network}'");
                if (quarantined.Contains(ip.ToString())) throw ControlException.Conflict($"{ip} was declined by a guest as in use; it is quarantined");
            }
            else if (previous is not null) ip = Ipv4Address.Parse(previous.Ipv4);
            else ip = Allocate(network, subnet, leases, quarantined, out evicted);

            var config = new EndpointConfig(r.Name, mac, bridged ? default : ip, transport.LearnMac, aliases, defaultRoute, egress);
            var row = new EndpointRow(network, r.Name, JsonSerializer.Serialize(transport, SwitchyardJsonContext.Default.TransportSpec),
                JsonSerializer.Serialize(new Dictionary<string, string>(r.Labels ?? new Dictionary<string, string>()), DaemonJsonContext.Default.DictionaryStringString),
                _time.GetUtcNow(), JsonSerializer.Serialize(aliases.ToList(), DaemonJsonContext.Default.ListString), defaultRoute, EgressJson(egress));
            var lease = new LeaseRow(network, r.Name, mac.ToString(), ip.ToString(),
                previous is not null && previous.Ipv4 == ip.ToString() ? previous.State : "reserved", previous?.Expires, _time.GetUtcNow());

            var live = createTransport(transport, config, net.Live.Config);
            var record = new EndpointRecord { Row = row, Transport = transport, Config = config };
            var published = new List<PublishedRecord>();
            bool committed = false;
            try
            {
                // Everything that can fail comes before the commit (the host ports too: a port
                // that is taken fails the attach); the record is published before the transport
                // starts, so the data plane's first callbacks find it.
                if (transport.Configure) WriteResolvConf(net, record);
                foreach (var spec in publish) published.Add(new PublishedRecord { Spec = spec, Handle = Listen(net, r.Name, spec) });
                _store.InsertEndpoint(row, lease, evicted, published.Select(p => p.Text).ToList());
                committed = true;
                lock (_networks)
                {
                    record.Published.AddRange(published);
                    net.Endpoints[r.Name] = record;
                }
                record.Port = net.Live.Attach(config, live);
                // An explicit --default-route takes it from the guest's other NICs (at their next lease).
                if (r.DefaultRoute == true)
                    foreach (var (otherNet, other) in siblings)
                        SetDefaultRoute(otherNet, other, false);
            }
            catch (Exception e)
            {
                // Roll back whole: no half-attached endpoint in the store, the switch, the namespace or the host's ports.
                foreach (var p in published) p.Handle?.Dispose();
                lock (_networks) net.Endpoints.Remove(r.Name);
                net.Live.Detach(r.Name);
                TransportFactory.Destroy(live, transport);
                RemoveResolvConf(record);
                if (committed)
                {
                    _store.DeleteEndpoint(network, r.Name);
                    if (previous is not null) _store.UpsertLease(previous); else _store.DeleteLease(network, r.Name);
                    if (evicted is not null && leases.FirstOrDefault(l => l.Endpoint == evicted) is { } old) _store.UpsertLease(old);
                }
                if (e is IOException or UnauthorizedAccessException)
                    throw ControlException.Invalid($"cannot attach '{r.Name}': {e.Message}");
                throw;
            }
            DirectoryLog.EndpointAttached(_logger, network, r.Name, ip.ToString(), mac.ToString(), transport.Kind);
            foreach (var p in published) DirectoryLog.PortPublished(_logger, network, r.Name, p.Text);
            return Describe(net, record);
        }
        finally { _gate.Release(); }
    }

    /// <summary>The MACs in use on the LAN a bridged network joins, by the networks bridged to the same
    /// interface (reservations and live ports), with who holds each; and the interface's own MAC.</summary>
    private Dictionary<MacAddress, string> MacsOnLan(NetworkRecord net)
    {
        var macs = new Dictionary<MacAddress, string>();
        List<NetworkRecord> others;
        lock (_networks)
            others = _networks.Values.Where(n => n != net && n.Row.BridgeInterface == net.Row.BridgeInterface && n.Live.Config.Mode == NetworkMode.Bridged).ToList();
        foreach (var other in others)
        {
            foreach (var l in _store.Leases(other.Row.Name))
                if (MacAddress.TryParse(l.Mac, out var m)) macs.TryAdd(m, $"endpoint '{l.Endpoint}' of network '{other.Row.Name}'");
            foreach (var p in other.Live.Endpoints) macs.TryAdd(p.Mac, $"endpoint '{p.Name}' of network '{other.Row.Name}'");
        }
        if (net.Row.BridgeInterface is { } name && HostInterfaces.Find(name) is { Mac: { } own } && MacAddress.TryParse(own, out var hostMac))
            macs.TryAdd(hostMac, $"the host interface {name} itself");
        return macs;
    }

    /// <summary>Checks an endpoint's aliases: DNS labels, not reserved, unique among the network's
    /// names and aliases (a name resolves to one endpoint).</summary>
    private static string[] CheckAliases(NetworkRecord net, string name, IReadOnlyList<string> aliases)
    {
        foreach (var alias in aliases)
        {
            if (Names.CheckLabel("alias", alias) is { } error) throw ControlException.Invalid(error);
            if (Names.Reserved.Contains(alias)) throw ControlException.Invalid($"alias '{alias}' is reserved for the gateway");
            if (alias == name) throw ControlException.Invalid($"alias '{alias}' is the endpoint's own name");
        }
        if (aliases.Distinct().Count() != aliases.Count) throw ControlException.Invalid("an alias is given twice");
        // Under the directory's gate, which every change of net.Endpoints holds.
        foreach (var other in net.Endpoints.Values)
        {
            var taken = other.Config.Aliases ?? [];
            if (taken.Contains(name)) throw ControlException.Conflict($"'{name}' is an alias of endpoint '{other.Row.Name}' on network '{net.Row.Name}'");
            foreach (var alias in aliases)
                if (alias == other.Row.Name || taken.Contains(alias))
                    throw ControlException.Conflict($"the name '{alias}' is already taken by endpoint '{other.Row.Name}' on network '{net.Row.Name}'");
        }
        return [.. aliases];
    }

    /// <summary>The endpoints, on any network, of the guest <paramref name="transport"/> belongs to:
    /// tap endpoints in the same namespace. Socket transports cannot tell one VM from another.</summary>
    private List<(NetworkRecord Net, EndpointRecord Record)> SameGuest(TransportSpec transport)
    {
        var found = new List<(NetworkRecord, EndpointRecord)>();
        if (transport.Kind != "tap" || (transport.Netns ?? transport.NetnsPath) is null) return found;
        lock (_networks)
            foreach (var net in _networks.Values)
                foreach (var e in net.Endpoints.Values)
                    if (e.Transport.Kind == "tap" && e.Transport.Netns == transport.Netns && e.Transport.NetnsPath == transport.NetnsPath)
                        found.Add((net, e));
        return found;
    }

    /// <summary>eth0, eth1, ...: the first name the guest's other NICs do not use.</summary>
    private static string NextIfname(List<(NetworkRecord Net, EndpointRecord Record)> siblings)
    {
        for (int i = 0; ; i++)
        {
            string name = $"eth{i}";
            if (!siblings.Any(s => s.Record.Transport.Ifname == name)) return name;
        }
    }

    private void SetDefaultRoute(NetworkRecord net, EndpointRecord e, bool defaultRoute)
    {
        _store.SetDefaultRoute(net.Row.Name, e.Row.Name, defaultRoute);
        e.Config = e.Config with { DefaultRoute = defaultRoute };
        if (e.Port is { } port) port.DefaultRoute = defaultRoute;
    }

    /// <summary>The lowest free address; when the subnet is full and <paramref name="evicted"/> is
    /// wanted, the reservation of the endpoint detached longest ago (the caller removes it in the
    /// same transaction that records the new one).</summary>
    private Ipv4Address Allocate(string network, Ipv4Subnet subnet, IReadOnlyList<LeaseRow> leases, HashSet<string> quarantined, out string? evicted,
        bool mayEvict = true)
    {
        evicted = null;
        var taken = leases.Select(l => l.Ipv4).ToHashSet();
        if (AddressAllocator.TryAllocate(subnet, a => taken.Contains(a.ToString()) || quarantined.Contains(a.ToString()), out var ip)) return ip;
        NetworkRecord net;
        lock (_networks) net = _networks[network];
        LeaseRow? oldest;
        lock (_networks) oldest = mayEvict ? leases.Where(l => !net.Endpoints.ContainsKey(l.Endpoint)).OrderBy(l => l.LastUsed).FirstOrDefault() : null;
        if (oldest is null) throw ControlException.Conflict($"network '{network}' has no free address left in {subnet}");
        evicted = oldest.Endpoint;
        return Ipv4Address.Parse(oldest.Ipv4);
    }

    private void RestoreEndpoint(NetworkRecord net, EndpointRow row)
    {
        var transport = JsonSerializer.Deserialize(row.TransportJson, SwitchyardJsonContext.Default.TransportSpec)!;
        var lease = _store.Leases(net.Row.Name).FirstOrDefault(l => l.Endpoint == row.Name);
        // A handed-over socket pair died with the previous daemon: the VM reconnects through
        // the handoff and gets its address back from the reservation, which stays.
        if (lease is null || transport.Kind == "fd") { _store.DeleteEndpoint(row.Network, row.Name); return; }
        var aliases = JsonSerializer.Deserialize(row.AliasesJson, DaemonJsonContext.Default.ListString) ?? [];
        bool bridged = net.Live.Config.Mode == NetworkMode.Bridged;
        // A bridged guest whose LAN lease is still good goes on with it; otherwise it must ask the LAN again.
        var ipv4 = !bridged ? Ipv4Address.Parse(lease.Ipv4)
            : lease.State == "bound" && lease.Expires > _time.GetUtcNow() ? Ipv4Address.Parse(lease.Ipv4) : default;
        var config = new EndpointConfig(row.Name, MacAddress.Parse(lease.Mac), ipv4, transport.LearnMac, aliases, row.DefaultRoute,
            StoredEgress(row.EgressJson));
        var record = new EndpointRecord { Row = row, Transport = transport, Config = config };
        try
        {
            var live = _transports.Create(transport, config, net.Live.Config, restoring: true);
            record.Port = net.Live.Attach(config, live);
            if (transport.Configure) WriteResolvConf(net, record);
            DirectoryLog.EndpointRestored(_logger, net.Row.Name, row.Name, lease.Ipv4);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            record.Error = e.Message;
            DirectoryLog.EndpointRestoreFailed(_logger, net.Row.Name, row.Name, e.Message);
        }
        // Its published ports listen again (also for an endpoint that came back down: clients
        // then get a RST until it is attached again). A port taken meanwhile fails alone: it is
        // logged and shown in inspect, and publishing it again retries.
        foreach (var p in _store.PublishedPorts(net.Row.Name, row.Name))
        {
            if (!PublishedPort.TryParse(p.Spec, out var spec, out var error))
            {
                DirectoryLog.PortRestoreFailed(_logger, net.Row.Name, row.Name, p.Spec, error);
                continue;
            }
            var published = new PublishedRecord { Spec = spec };
            try { published.Handle = net.Live.Publish(row.Name, spec); }
            catch (PublishException e)
            {
                published.Error = e.Message;
                DirectoryLog.PortRestoreFailed(_logger, net.Row.Name, row.Name, p.Spec, e.Message);
            }
            record.Published.Add(published);
        }
        lock (_networks) net.Endpoints[row.Name] = record;
    }

    // ------------------------------------------------------------------ published ports

    /// <summary>Publishes a host port to an endpoint at run time. Publishing a spec again that
    /// could not be restored at startup retries it.</summary>
    public async Task<EndpointInfo> PublishAsync(string network, string name, string specText)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            NetworkRecord net;
            EndpointRecord e;
            lock (_networks) (net, e) = FindEndpoint(network, name);
            var spec = ParsePublish(specText);
            CheckPublishable(net);
            PublishedRecord? existing;
            lock (_networks) existing = e.Published.FirstOrDefault(p => p.Text == spec.ToString());
            if (existing is { Handle: not null }) throw ControlException.Conflict($"{spec} is already published to endpoint '{name}' on network '{network}'");
            CheckHostPortFree(spec, existing);
            var handle = Listen(net, name, spec);
            if (existing is not null)
            {
                lock (_networks) { existing.Handle = handle; existing.Error = null; }
            }
            else
            {
                try { _store.InsertPublishedPort(new PublishedPortRow(network, name, spec.ToString(), _time.GetUtcNow())); }
                catch
                {
                    handle.Dispose();
                    throw;
                }
                lock (_networks) e.Published.Add(new PublishedRecord { Spec = spec, Handle = handle });
            }
            DirectoryLog.PortPublished(_logger, network, name, spec.ToString());
            return Describe(net, e);
        }
        finally { _gate.Release(); }
    }

    /// <summary>Stops publishing a port: the host port is closed at once (connections already
    /// made go on until they end).</summary>
    public async Task UnpublishAsync(string network, string name, string specText)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            NetworkRecord net;
            EndpointRecord e;
            lock (_networks) (net, e) = FindEndpoint(network, name);
            var spec = ParsePublish(specText);
            PublishedRecord? existing;
            lock (_networks) existing = e.Published.FirstOrDefault(p => p.Text == spec.ToString());
            if (existing is null) throw ControlException.NotFound($"{spec} is not published to endpoint '{name}' on network '{network}'");
            _store.DeletePublishedPort(network, name, existing.Text);
            lock (_networks) e.Published.Remove(existing);
            existing.Handle?.Dispose();
            DirectoryLog.PortUnpublished(_logger, network, name, existing.Text);
        }
        finally { _gate.Release(); }
    }

    private (NetworkRecord, EndpointRecord) FindEndpoint(string network, string name)
    {
        var net = Find(network);
        return net.Endpoints.TryGetValue(name, out var e) ? (net, e)
            : throw ControlException.NotFound($"endpoint '{name}' is not attached to network '{network}'");
    }

    private static PublishedPort ParsePublish(string? text) =>
        PublishedPort.TryParse(text, out var spec, out var error) ? spec : throw ControlException.Invalid(error);

    /// <summary>Only networks with a NAT (nat, host) have a way from the host to their guests.</summary>
    private static void CheckPublishable(NetworkRecord net)
    {
        if (net.Live.Nat is null)
            throw ControlException.Invalid($"network '{net.Row.Name}' is {net.Row.Mode}: its endpoints cannot publish ports (only nat and host networks reach the host)");
    }

    /// <summary>An attach request's publish specs, checked whole before anything is attached.</summary>
    private List<PublishedPort> CheckPublish(NetworkRecord net, IReadOnlyList<string> specs)
    {
        var list = new List<PublishedPort>();
        foreach (var text in specs) list.Add(ParsePublish(text));
        if (list.Count == 0) return list;
        CheckPublishable(net);
        for (int i = 0; i < list.Count; i++)
        {
            for (int j = 0; j < i; j++)
                if (Overlaps(list[i], list[j])) throw ControlException.Conflict($"publish {list[i]} and {list[j]} want the same host port");
            CheckHostPortFree(list[i], null);
        }
        return list;
    }

    /// <summary>409 when another published port (of any endpoint of any network, listening or
    /// not) has the host port of <paramref name="spec"/>; <paramref name="self"/> is not counted.</summary>
    private void CheckHostPortFree(PublishedPort spec, PublishedRecord? self)
    {
        lock (_networks)
            foreach (var n in _networks.Values)
                foreach (var e in n.Endpoints.Values)
                    foreach (var p in e.Published)
                        if (p != self && Overlaps(spec, p.Spec))
                            throw ControlException.Conflict($"host port {HostPort(spec)} is already published to endpoint '{e.Row.Name}' on network '{n.Row.Name}' ({p.Text})");
    }

    private static string HostPort(PublishedPort p) =>
        $"{(p.HostAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{p.HostAddress}]" : p.HostAddress)}:{p.HostPort}/{p.ProtocolName}";

    /// <summary>Whether two specs want the same host socket: same protocol and port, and the same
    /// address or a wildcard that covers the other (:: covers IPv4 too, as the kernel's dual-stack
    /// sockets do).</summary>
    private static bool Overlaps(PublishedPort a, PublishedPort b)
    {
        if (a.Protocol != b.Protocol || a.HostPort != b.HostPort) return false;
        if (a.HostAddress.Equals(b.HostAddress)) return true;
        return Covers(a.HostAddress, b.HostAddress) || Covers(b.HostAddress, a.HostAddress);

        static bool Covers(IPAddress wildcard, IPAddress other) =>
            wildcard.Equals(IPAddress.IPv6Any) || (wildcard.Equals(IPAddress.Any) && other.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
    }

    /// <summary>Listens on the host port; a port that cannot be had is a 409 with the reason.</summary>
    private static IDisposable Listen(NetworkRecord net, string endpoint, PublishedPort spec)
    {
        try { return net.Live.Publish(endpoint, spec); }
        catch (PublishException e) { throw ControlException.Conflict(e.Message); }
    }

    private static void StopListening(EndpointRecord e)
    {
        foreach (var p in e.Published)
        {
            p.Handle?.Dispose();
            p.Handle = null;
        }
    }

    private const string ResolvConfMarker = "# written by Switchyard";
    private static string ResolvConfHeader(EndpointRecord e) => $"{ResolvConfMarker} for endpoint {e.Row.Name} on network {e.Row.Network}";

    private static void WriteResolvConf(NetworkRecord net, EndpointRecord e)
    {
        // A guest on several networks takes its resolver, like its route, from one of them.
        if (!OperatingSystem.IsLinux() || e.Transport.Netns is not { } ns || !e.Config.DefaultRoute) return;
        var cfg = net.Live.Config;
        NetworkNamespace.WriteResolvConf(ns, $"{ResolvConfHeader(e)}\nnameserver {cfg.Gateway}\nsearch {cfg.Domain}\n");
    }

    /// <summary>Removes the resolv.conf that --configure wrote (only ours: it starts with our
    /// marker), and its directory when nothing else is in it. Also for an endpoint restored
    /// "down", which never wrote it in this daemon's life.</summary>
    private static void RemoveResolvConf(EndpointRecord e)
    {
        if (!OperatingSystem.IsLinux() || !e.Transport.Configure || e.Transport.Netns is not { } ns) return;
        var dir = Path.Combine(NetworkNamespace.EtcDirectory, ns);
        var file = Path.Combine(dir, "resolv.conf");
        try
        {
            if (File.Exists(file) && File.ReadAllText(file).StartsWith(ResolvConfHeader(e), StringComparison.Ordinal)) File.Delete(file);
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    public async Task DetachAsync(string network, string name)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            NetworkRecord net;
            lock (_networks) net = Find(network);
            if (!net.Endpoints.TryGetValue(name, out var e)) throw ControlException.NotFound($"endpoint '{name}' is not attached to network '{network}'");
            lock (_networks) StopListening(e);   // its host ports close first: no new client for a guest that is leaving
            if (net.Live.Detach(name) is { } port) TransportFactory.Destroy(port.Transport, e.Transport);
            RemoveResolvConf(e);
            _store.DeleteEndpoint(network, name);   // and its published ports
            var lease = _store.Leases(network).FirstOrDefault(l => l.Endpoint == name);
            if (lease is not null) _store.UpsertLease(lease with { LastUsed = _time.GetUtcNow() });
            lock (_networks) net.Endpoints.Remove(name);
            DirectoryLog.EndpointDetached(_logger, network, name);
        }
        finally { _gate.Release(); }
    }

    public IReadOnlyList<EndpointInfo> ListEndpoints(string? network)
    {
        lock (_networks)
        {
            if (network is not null) return DescribeAll(Find(network)).ToList();
            return _networks.Values.SelectMany(n => DescribeAll(n)).ToList();
        }
    }

    public EndpointInfo GetEndpoint(string network, string name)
    {
        lock (_networks)
        {
            var net = Find(network);
            return net.Endpoints.TryGetValue(name, out var e) ? Describe(net, e)
                : throw ControlException.NotFound($"endpoint '{name}' is not attached to network '{network}'");
        }
    }

    /// <summary>The host's interfaces, and whether a network can bridge to each.</summary>
    public static IReadOnlyList<HostInterfaceInfo> ListInterfaces() =>
        HostInterfaces.List().Select(i => new HostInterfaceInfo
        {
            Name = i.Name, Kind = i.Kind, Mac = i.Mac, Mtu = i.Mtu, State = i.State, Addresses = i.Addresses, CanBridge = i.CanBridge, Reason = i.Reason,
        }).ToList();

    public IReadOnlyList<LeaseInfo> ListLeases(string network)
    {
        lock (_networks)
        {
            var net = Find(network);
            return _store.Leases(network).Select(l => DescribeLease(l, net.Endpoints.ContainsKey(l.Endpoint))).ToList();
        }
    }

    // ------------------------------------------------------------------ data plane events

    void INetworkEvents.OnLeaseChanged(string network, string endpoint, Ipv4Address address, LeaseState state, DateTimeOffset expires)
    {
        var lease = _store.Leases(network).FirstOrDefault(l => l.Endpoint == endpoint);
        if (lease is null) return;
        bool bridged;
        lock (_networks) bridged = _networks.TryGetValue(network, out var net) && net.Live.Config.Mode == NetworkMode.Bridged;
        if (bridged && lease.Ipv4 != address.ToString())
        {
            // A bridged endpoint's row holds the address the LAN's DHCP server gave it (our IPAM has
            // no say there), so a restart can let it go on using that address.
            try { _store.UpsertLease(lease with { Ipv4 = address.ToString(), State = "bound", Expires = expires, LastUsed = _time.GetUtcNow() }); }
            catch (Microsoft.Data.Sqlite.SqliteException) { return; }   // another endpoint's row holds it: the LAN gave it twice
            DirectoryLog.LeaseChanged(_logger, network, endpoint, address.ToString(), "bound by the LAN");
            return;
        }
        if (lease.Ipv4 != address.ToString()) return;
        string name = state.ToString().ToLowerInvariant();
        if (lease.State == name && state == LeaseState.Offered) return;
        // A client repeating REQUESTs costs no write per packet: only a changed state or a real renewal is stored.
        if (lease.State == name && lease.Expires is { } stored && (expires - stored).Duration() < TimeSpan.FromSeconds(30)) return;
        _store.UpsertLease(lease with { State = name, Expires = expires, LastUsed = _time.GetUtcNow() });
        if (state is LeaseState.Bound or LeaseState.Released) DirectoryLog.LeaseChanged(_logger, network, endpoint, address.ToString(), name);
    }

    void INetworkEvents.OnMacLearned(string network, string endpoint, MacAddress mac)
    {
        NetworkRecord? net;
        EndpointRecord? e = null;
        lock (_networks)
            if (_networks.TryGetValue(network, out net)) net.Endpoints.TryGetValue(endpoint, out e);
        if (net is null || e is null) return;
        e.Config = e.Config with { Mac = mac };
        var leases = _store.Leases(network);
        var lease = leases.FirstOrDefault(l => l.Endpoint == endpoint);
        if (lease is null || lease.Mac == mac.ToString()) return;
        // The VM's MAC identifies it to DHCP: a detached reservation holding the same MAC was this
        // VM under another name, and gives way; an attached one is a real clash, logged.
        var holder = leases.FirstOrDefault(l => l.Endpoint != endpoint && l.Mac == mac.ToString());
        if (holder is not null)
        {
            bool attached;
            lock (_networks) attached = net.Endpoints.ContainsKey(holder.Endpoint);
            if (attached) { DirectoryLog.MacClash(_logger, network, endpoint, mac.ToString(), holder.Endpoint); return; }
            _store.DeleteLease(network, holder.Endpoint);
        }
        _store.UpsertLease(lease with { Mac = mac.ToString(), LastUsed = _time.GetUtcNow() });
        DirectoryLog.MacLearned(_logger, network, endpoint, mac.ToString());
    }

    Ipv4Address? INetworkEvents.OnAddressDeclined(string network, string endpoint, Ipv4Address declined)
    {
        // Runs on the guest's receive thread: one move per endpoint per minute (a guest declining
        // in a loop cannot quarantine the subnet away), and never a long wait for the API's gate.
        var now = _time.GetUtcNow();
        lock (_lastDecline)
        {
            if (_lastDecline.TryGetValue((network, endpoint), out var last) && now - last < DeclineInterval) return null;
            _lastDecline[(network, endpoint)] = now;
        }
        if (!_gate.Wait(TimeSpan.FromMilliseconds(500))) return null;
        try
        {
            NetworkRecord net;
            lock (_networks) net = Find(network);
            _store.Quarantine(network, declined.ToString(), _time.GetUtcNow() + QuarantineTime);
            var leases = _store.Leases(network);
            var quarantined = _store.Quarantined(network).Where(q => q.Until > _time.GetUtcNow()).Select(q => q.Ipv4).ToHashSet();
            if (leases.FirstOrDefault(l => l.Endpoint == endpoint) is not { } lease) return null;
            Ipv4Address next;
            // A decline never takes another endpoint's reservation: a guest must not be able to
            // push others out by declining address after address.
            try { next = Allocate(network, net.Live.Config.Subnet, leases, quarantined, out _, mayEvict: false); }
            catch (ControlException) { return null; }
            _store.UpsertLease(lease with { Ipv4 = next.ToString(), State = "reserved", Expires = null, LastUsed = _time.GetUtcNow() });
            if (net.Endpoints.TryGetValue(endpoint, out var e)) e.Config = e.Config with { Ipv4 = next };
            DirectoryLog.AddressDeclined(_logger, network, endpoint, declined.ToString(), next.ToString());
            return next;
        }
        finally { _gate.Release(); }
    }

    // ------------------------------------------------------------------ views

    private NetworkInfo Describe(NetworkRecord n)
    {
        var live = n.Live;
        var fwd = live.Forwarder;
        return new NetworkInfo
        {
            Name = n.Row.Name,
            Mode = n.Row.Mode,
            BridgeInterface = n.Row.BridgeInterface,
            Subnet = n.Row.Subnet,
            Gateway = live.Config.Gateway.ToString(),
            GatewayMac = n.Row.GatewayMac,
            Ipv6Prefix = live.Config.Ipv6?.ToString(),
            Ipv6Gateway = live.Config.GatewayIpv6?.ToString(),
            Ipv6GatewayLinkLocal = live.Config.Ipv6 is null ? null : live.Config.GatewayLinkLocal.ToString(),
            Mtu = n.Row.Mtu,
            Domain = n.Row.Domain,
            HostLoopback = live.Nat?.Policy.HostLoopback ?? false,
            DnsUpstreams = n.DnsUpstreams,
            EffectiveDnsUpstreams = live.Forwarder is null ? [] : live.Config.DnsUpstreams().Select(e => e.ToString()).ToList(),
            Labels = JsonSerializer.Deserialize(n.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString) ?? [],
            Created = n.Row.Created,
            Endpoints = n.Endpoints.Count,
            Services = new GatewayCounters
            {
                DhcpMalformed = live.Dhcp.MalformedCount,
                DnsMalformed = live.Dns.Malformed,
                Drops = live.Gateway.Counters.DropsByReason(),
                DnsQueries = live.Dns.Queries,
                DnsForwarded = fwd?.Forwarded ?? 0,
                DnsUpstreamFailures = fwd?.Failed ?? 0,
                DnsCacheEntries = fwd?.Cache.Count ?? 0,
            },
            Nat = live.Nat is { } nat ? new NatCounters { TcpFlows = nat.TcpFlowCount, UdpFlows = nat.UdpFlowCount, IcmpFlows = nat.IcmpFlowCount } : null,
            Warnings = BridgeWarnings(n),
            Egress = DescribeEgress(live.Egress.Policy),
        };
    }

    private static List<string>? BridgeWarnings(NetworkRecord n)
    {
        if (n.Row.BridgeInterface is not { } name) return null;
        var warnings = new List<string>();
        if (n.UplinkError is { } error) warnings.Add($"not connected to the LAN of {name} (restart the daemon once it is back): {error}");
        if (HostInterfaces.Find(name) is { Kind: "wifi", Reason: { } reason }) warnings.Add($"{name}: {reason}");
        return warnings.Count == 0 ? null : warnings;
    }

    /// <summary>A network's endpoints, with one read of its leases for all of them.</summary>
    private IEnumerable<EndpointInfo> DescribeAll(NetworkRecord n)
    {
        var leases = _store.Leases(n.Row.Name);
        return n.Endpoints.Values.Select(e => Describe(n, e, leases)).ToList();
    }

    private EndpointInfo Describe(NetworkRecord n, EndpointRecord e, IReadOnlyList<LeaseRow>? leases = null)
    {
        var lease = (leases ?? _store.Leases(n.Row.Name)).FirstOrDefault(l => l.Endpoint == e.Row.Name);
        var c = e.Port?.Counters;
        List<PublishedRecord> published;
        lock (_networks) published = [.. e.Published];
        var publishErrors = published.Where(p => p.Error is not null).ToDictionary(p => p.Text, p => p.Error!);
        return new EndpointInfo
        {
            Network = n.Row.Name,
            Name = e.Row.Name,
            Fqdn = $"{e.Row.Name}.{n.Row.Domain}",
            Mac = (e.Port?.Mac ?? e.Config.Mac).ToString(),
            Ipv4 = (e.Port?.Ipv4 ?? e.Config.Ipv4).ToString(),
            Ipv6 = n.Live.Config.Ipv6 is { } prefix
                ? [Ipv6Address.Slaac(prefix, e.Port?.Mac ?? e.Config.Mac).ToString(), Ipv6Address.LinkLocal(e.Port?.Mac ?? e.Config.Mac).ToString()]
                : null,
            Aliases = e.Config.Aliases is { Count: > 0 } aliases ? aliases : null,
            Egress = DescribeEgress(e.Config.Egress),
            EgressDecisions = e.Port is { Egress: var g } && (g.Allowed > 0 || g.Denied > 0 || n.Live.Egress.Active)
                ? new EgressCounters { Allowed = g.Allowed, Denied = g.Denied } : null,
            DefaultRoute = e.Port?.DefaultRoute ?? e.Config.DefaultRoute,
            Transport = e.Port?.Transport is IReportingTransport { Status: var st }
                ? e.Transport with { State = st.State, Connects = st.Connects, ProtocolErrors = st.ProtocolErrors, LastError = st.LastError }
                : e.Transport,
            State = e.Port is null ? "down" : "up",
            Error = e.Error,
            Lease = lease is null ? null : DescribeLease(lease, true),
            Published = published.Select(p => p.Text).ToList(),
            PublishErrors = publishErrors.Count == 0 ? null : publishErrors,
            Counters = c is null ? null : new PortCountersInfo
            {
                FramesIn = c.FramesIn, BytesIn = c.BytesIn, FramesOut = c.FramesOut, BytesOut = c.BytesOut,
                Dropped = c.DroppedTotal, Drops = c.DropsByReason(),
            },
            Labels = JsonSerializer.Deserialize(e.Row.LabelsJson, DaemonJsonContext.Default.DictionaryStringString),
            Created = e.Row.Created,
        };
    }

    private static LeaseInfo DescribeLease(LeaseRow l, bool attached) => new()
    {
        Network = l.Network, Endpoint = l.Endpoint, Mac = l.Mac, Ipv4 = l.Ipv4, State = l.State, Expires = l.Expires, Attached = attached,
    };

    /// <summary>Stops every transport without destroying persistent TAPs: a restarted daemon
    /// re-attaches to them and the guests keep their configuration.</summary>
    public void Dispose()
    {
        _hostResolvers.Dispose();
        _egressLog.Dispose();
        lock (_networks)
        {
            foreach (var n in _networks.Values)
            {
                foreach (var e in n.Endpoints.Values) StopListening(e);
                n.Live.Dispose();
            }
            _networks.Clear();
        }
    }
}

internal static partial class DirectoryLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Network {Network} created: {Subnet}, mode {Mode}")]
    public static partial void NetworkCreated(ILogger logger, string network, string subnet, string mode);
    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "Network {Network} updated: mode {Mode}, host loopback {HostLoopback}")]
    public static partial void NetworkUpdated(ILogger logger, string network, string mode, bool hostLoopback);
    [LoggerMessage(EventId = 16, Level = LogLevel.Information, Message = "Network {Network} egress policy: {Policy}")]
    public static partial void EgressUpdated(ILogger logger, string network, string policy);
    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Network {Network} removed")]
    public static partial void NetworkRemoved(ILogger logger, string network);
    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} attached: {Ip} {Mac} over {Transport}")]
    public static partial void EndpointAttached(ILogger logger, string network, string endpoint, string ip, string mac, string transport);
    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} detached")]
    public static partial void EndpointDetached(ILogger logger, string network, string endpoint);
    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} restored at {Ip}")]
    public static partial void EndpointRestored(ILogger logger, string network, string endpoint, string ip);
    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Endpoint {Network}/{Endpoint} could not be restored: {Reason}")]
    public static partial void EndpointRestoreFailed(ILogger logger, string network, string endpoint, string reason);
    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Lease {Network}/{Endpoint} {Ip}: {State}")]
    public static partial void LeaseChanged(ILogger logger, string network, string endpoint, string ip, string state);
    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} uses the VM's own MAC {Mac}")]
    public static partial void MacLearned(ILogger logger, string network, string endpoint, string mac);
    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Endpoint {Network}/{Endpoint} sends from {Mac}, which attached endpoint {Other} already uses; DHCP answers only one of them")]
    public static partial void MacClash(ILogger logger, string network, string endpoint, string mac, string other);
    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Endpoint {Network}/{Endpoint} declined {Declined} (in use on the wire); moved to {Next}")]
    public static partial void AddressDeclined(ILogger logger, string network, string endpoint, string declined, string next);
    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} published {Spec}")]
    public static partial void PortPublished(ILogger logger, string network, string endpoint, string spec);
    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} unpublished {Spec}")]
    public static partial void PortUnpublished(ILogger logger, string network, string endpoint, string spec);
    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "Published port {Spec} of endpoint {Network}/{Endpoint} could not be restored: {Reason}")]
    public static partial void PortRestoreFailed(ILogger logger, string network, string endpoint, string spec, string reason);
    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Network {Network} bridges to {Interface}: {Warning}")]
    public static partial void BridgeWarning(ILogger logger, string network, string @interface, string warning);
    [LoggerMessage(EventId = 16, Level = LogLevel.Warning, Message = "Bridged network {Network} restored without its LAN on {Interface}: {Reason}")]
    public static partial void BridgeRestoreFailed(ILogger logger, string network, string @interface, string reason);
    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "New host resolvers applied to {Count} network(s) that follow them (caches flushed)")]
    public static partial void HostResolversApplied(ILogger logger, int count);
}
