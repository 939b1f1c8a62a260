using System.Text;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Resolvers;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Daemon.Planning;

/// <summary>A network that exists, as a new one's plan must not clash with it.</summary>
public sealed record ExistingNetwork(string Name, Ipv4Subnet Subnet, Ipv6Prefix? Ipv6, StoredVxlan? Vxlan = null);

/// <summary>A checked create: the row to store, and the bridged interface (with its warning, if any).</summary>
public sealed record NetworkPlan(NetworkRow Row, HostInterface? Bridge);

/// <summary>Checks a network create request whole, before anything changes, and chooses what the
/// request leaves open (subnet, MTU, domain, gateway MAC). Pure: the host and the other networks
/// are given.</summary>
public static class NetworkPlanner
{
    public const string DefaultNetwork = "default";
    public static readonly Ipv4Subnet DefaultSubnet = Ipv4Subnet.Parse("192.168.64.0/24");

    public static NetworkPlan Plan(NetworkCreateRequest r, IReadOnlyCollection<ExistingNetwork> others, IHostView host, DateTimeOffset now)
    {
        if (Names.CheckLabel("network", r.Name) is { } nameError) throw ControlException.Invalid(nameError);
        if (others.Any(o => o.Name == r.Name)) throw ControlException.Conflict($"network '{r.Name}' already exists");

        var (mode, bridge, joinsOverVxlan) = ModeSpec.Parse(r.Mode);
        HostInterface? bridgeInterface = null;
        if (joinsOverVxlan && r.Vxlan is null)
            throw ControlException.Invalid("--mode bridged:vxlan joins another host's network over a VXLAN tunnel: give --vxlan VNI, --vxlan-local and --vxlan-peer GATEWAY-HOST");
        if (mode == NetworkMode.Bridged && !joinsOverVxlan && r.Vxlan is not null)
            throw ControlException.Invalid("a network has one uplink: --mode bridged:IFACE bridges to a LAN; to join another host's network over VXLAN use --mode bridged:vxlan");
        var vxlan = r.Vxlan is { } tunnel ? VxlanPlanner.Plan(tunnel, others.Where(o => o.Vxlan is not null).Select(o => (o.Name, o.Vxlan!))) : null;
        if (mode == NetworkMode.Bridged)
        {
            // The LAN's DHCP server and router serve a bridged network's guests: nothing of ours to configure.
            string lan = joinsOverVxlan ? "the gateway host's" : "the LAN's";
            if (r.Subnet is not null) throw ControlException.Invalid($"--subnet does not apply to a bridged network: {lan} DHCP server gives its guests their addresses");
            if (r.DnsUpstreams is { Count: > 0 }) throw ControlException.Invalid($"--dns-upstream does not apply to a bridged network: its guests use {lan} DNS servers");
            if (!joinsOverVxlan)
            {
                bridgeInterface = host.BridgeInterface(bridge);
                bridge = bridgeInterface.Name;
            }
        }
        // A bridged network's frames are the LAN's: its MTU is the interface's unless given.
        // A tunnel's is its underlay's less the encapsulation (RFC 7348 section 4.3: no fragmenting).
        int mtu = r.Mtu ?? (vxlan is not null ? VxlanPlanner.DefaultMtu(vxlan, host)
            : bridgeInterface is { Mtu: >= NetworkConfig.MinMtu and <= NetworkConfig.MaxMtu } b ? b.Mtu : NetworkConfig.DefaultMtu);
        if (mtu < NetworkConfig.MinMtu || mtu > NetworkConfig.MaxMtu)
            throw ControlException.Invalid($"MTU {mtu} is out of range ({NetworkConfig.MinMtu}-{NetworkConfig.MaxMtu})");
        if (vxlan is not null && mtu > VxlanPlanner.MaxMtu)
            throw ControlException.Invalid($"MTU {mtu} is too large for a VXLAN network: a UDP datagram carries an inner frame of at most {VxlanPlanner.MaxMtu} bytes");
        string domain = (r.Domain ?? $"{r.Name}.internal").TrimEnd('.').ToLowerInvariant();
        if (Names.CheckDomain(domain) is { } domainError) throw ControlException.Invalid(domainError);
        var upstreams = CheckUpstreams(r.DnsUpstreams ?? []);
        LabelRules.Check(r.Labels, $"network '{r.Name}'");
        var egress = EgressRules.Parse(r.Egress, mode);
        bool allowHost = r.AllowHostSubnet ?? false;
        var ipv6 = r.Ipv6 is { } v6 ? PlanIpv6(r.Name, v6, mode, others, allowHost ? new NoRoutes(host) : host) : (Ipv6Prefix?)null;

        // The host's routes are read once per create, however many candidates PickSubnet tries.
        // A subnet the caller gives may overlap them when asked to (allowHostSubnet); one we pick never does.
        var routes = host.Ipv4Routes();
        Ipv4Subnet subnet;
        if (r.Subnet is null) subnet = PickSubnet(others, routes);
        else if (SubnetConflict(subnet = ParseSubnet(r.Subnet), others, allowHost ? [] : routes) is { } conflict) throw ControlException.Conflict(conflict);

        var row = new NetworkRow(r.Name, mode, bridge, subnet.ToString(), mtu, domain,
            JsonSerializer.Serialize(upstreams, DaemonJsonContext.Default.ListString),
            JsonSerializer.Serialize(new Dictionary<string, string>(r.Labels ?? new Dictionary<string, string>()), DaemonJsonContext.Default.DictionaryStringString),
            GatewayMacFor(r.Name).ToString(), now, r.HostLoopback ?? true, StoredEgressPolicy.ToJson(egress), ipv6?.ToString(),
            CheckMaxFlows(r.MaxFlows, "--max-flows"), DhcpRanges.Check(r.DhcpRange, subnet, mode), vxlan?.ToJson());
        return new NetworkPlan(row, bridgeInterface);
    }

    /// <summary>The most --max-flows may be: more than any host's fd limit would let a network hold.</summary>
    public const int MaxMaxFlows = 1 << 20;

    /// <summary>A flow cap as stored: null for "the default" (absent or 0), else 1 to <see cref="MaxMaxFlows"/>.</summary>
    public static int? CheckMaxFlows(int? value, string what) => value switch
    {
        null or 0 => null,
        < 0 or > MaxMaxFlows => throw ControlException.Invalid($"{what} {value} is out of range (1-{MaxMaxFlows}, or 0 for the default)"),
        _ => value,
    };

    /// <summary>Explicit resolvers (IP, IP:PORT, [IPv6]:PORT), or "none" alone.</summary>
    private static List<string> CheckUpstreams(IReadOnlyList<string> given)
    {
        var upstreams = given.ToList();
        foreach (var u in upstreams)
            if (u != "none" && !HostResolvers.TryParseUpstream(u, out _))
                throw ControlException.Invalid($"invalid DNS upstream '{u}': expected IP, IP:PORT or [IPv6]:PORT");
        if (upstreams.Contains("none") && upstreams.Count > 1) throw ControlException.Invalid("DNS upstream 'none' cannot be combined with resolvers");
        return upstreams;
    }

    private static Ipv6Prefix PlanIpv6(string name, string text, NetworkMode mode, IReadOnlyCollection<ExistingNetwork> others, IHostView host)
    {
        if (mode == NetworkMode.Bridged) throw ControlException.Invalid("IPv6 is for nat, host and internal networks; a bridged network's guests get IPv6 from the LAN's router");
        Ipv6Prefix ipv6;
        if (text == "auto") ipv6 = Ipv6Prefix.StableUla(name);
        else if (!Ipv6Prefix.TryParseSlaac(text, out ipv6, out var v6Error)) throw ControlException.Invalid($"invalid IPv6 prefix {v6Error}");
        foreach (var other in others)
            if (other.Ipv6 == ipv6) throw ControlException.Conflict($"IPv6 prefix {ipv6} is network '{other.Name}'s");
        // Like an IPv4 subnet: a prefix the host already routes somewhere would hide those
        // addresses from the guests (NAT66 never forwards a network's own prefix).
        foreach (var (route, dev) in host.Ipv6Routes())
            if (route.Contains(ipv6.Network) || ipv6.Contains(route.Network))
                throw ControlException.Conflict($"IPv6 prefix {ipv6} overlaps the host's route {route} on {dev}, a range the host itself uses; choose another (or take it anyway with --allow-host-subnet)");
        return ipv6;
    }

    public static Ipv4Subnet ParseSubnet(string text)
    {
        if (!Ipv4Subnet.TryParse(text, out var subnet, out var error)) throw ControlException.Invalid(error!);
        if (subnet.PrefixLength is < 8 or > 30)
            throw ControlException.Invalid($"subnet {text}: prefix length must be 8-30 (room for a gateway and guests)");
        if (ReservedSubnets.Refusal(subnet) is { } reserved) throw ControlException.Invalid(reserved);
        return subnet;
    }

    /// <summary>Why <paramref name="subnet"/> cannot be used (it overlaps another network or a
    /// host route), or null when it is free.</summary>
    public static string? SubnetConflict(Ipv4Subnet subnet, IReadOnlyCollection<ExistingNetwork> others,
        IReadOnlyList<(uint Network, int PrefixLength, string Interface)> routes)
    {
        foreach (var other in others)
            if (other.Subnet.Overlaps(subnet))
                return $"subnet {subnet} overlaps network '{other.Name}' ({other.Subnet})";
        foreach (var (network, prefix, iface) in routes)
        {
            var route = new Ipv4Subnet(new Ipv4Address(network), prefix);
            if (prefix > 0 && route.Overlaps(subnet))
                return $"subnet {subnet} overlaps the host route {route} on {iface}, a range the host itself uses; choose another with --subnet (or take it anyway with --allow-host-subnet, and the guests shadow those hosts)";
        }
        return null;
    }

    /// <summary>The first free 192.168.N.0/24 from 192.168.64.0/24 on (apple/container's range).</summary>
    public static Ipv4Subnet PickSubnet(IReadOnlyCollection<ExistingNetwork> others, IReadOnlyList<(uint Network, int PrefixLength, string Interface)> routes)
    {
        for (uint n = 64; n < 256; n++)
        {
            var candidate = new Ipv4Subnet(new Ipv4Address(0xC0A80000u | (n << 8)), 24);
            if (SubnetConflict(candidate, others, routes) is null) return candidate;
        }
        throw ControlException.Conflict("no free 192.168.N.0/24 subnet is left; give one with --subnet");
    }

    /// <summary>The host as a plan that may overlap its routes sees it (allowHostSubnet).</summary>
    private sealed class NoRoutes(IHostView host) : IHostView
    {
        public HostInterface BridgeInterface(string? name) => host.BridgeInterface(name);
        public IReadOnlyList<(uint Network, int PrefixLength, string Interface)> Ipv4Routes() => [];
        public IReadOnlyList<(Ipv6Prefix Prefix, string Interface)> Ipv6Routes() => [];
        public int? UnderlayMtu(System.Net.IPAddress destination) => host.UnderlayMtu(destination);
    }

    /// <summary>A stable, locally administered MAC per network name, so the gateway keeps its MAC
    /// (and guests' ARP caches stay right) across restarts.</summary>
    public static MacAddress GatewayMacFor(string network) =>
        MacAddress.LocallyAdministered(StableHash.Sha256(Encoding.UTF8.GetBytes("switchyard-gateway:" + network)));
}
