using System.Text.Json;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Packets;

namespace Switchyard.Daemon.Docker;

/// <summary>
/// Reads a CreateNetwork request (libnetwork remote.md, "Create network") into a
/// <see cref="DockerNetworkSpec"/>, whole, before anything changes: the <c>-o</c> options
/// (<c>com.docker.network.generic</c>), <c>--internal</c>, <c>--ipv6</c> and Docker's IPAM pool.
/// An option this driver does not know is an error, never silently ignored. Pure.
/// </summary>
internal static class DockerNetworkOptions
{
    /// <summary>Where libnetwork puts the <c>-o KEY=VALUE</c> options of <c>docker network create</c> (netlabel.GenericData).</summary>
    public const string GenericData = "com.docker.network.generic";
    public const string EnableIpv6 = "com.docker.network.enable_ipv6";
    public const string Internal = "com.docker.network.internal";
    /// <summary>The bridge driver's MTU option, accepted too so that a Compose file written for it keeps working.</summary>
    public const string DockerMtu = "com.docker.network.driver.mtu";

    public static readonly IReadOnlyList<string> Known = ["mode", "egress", "allow", "deny", "mtu", "dns-upstream", DockerMtu];

    public static DockerNetworkSpec Parse(CreateNetworkRequest r)
    {
        var generic = Generic(r.Options);
        foreach (var key in generic.Keys)
            if (!Known.Contains(key))
                throw ControlException.Invalid($"unknown option '{key}' for the switchyard driver; known options: {string.Join(", ", Known.Take(Known.Count - 1))}");

        if (Flag(r.Options, EnableIpv6) || r.IPv6Data is { Count: > 0 })
            throw ControlException.Invalid("the switchyard driver does not take --ipv6: Switchyard's IPv6 is SLAAC on a /64 it announces itself (yard network create --ipv6)");

        string? mode = generic.GetValueOrDefault("mode");
        if (mode is not null && mode is not ("nat" or "host" or "internal"))
            throw ControlException.Invalid($"mode '{mode}': use nat, host or internal (a bridged network's guests get their addresses from the LAN, not from Docker's IPAM)");
        if (Flag(r.Options, Internal))
        {
            if (mode is not null && mode != "internal") throw ControlException.Invalid($"--internal and -o mode={mode} disagree");
            mode = "internal";
        }

        var subnet = Pool(r.IPv4Data);
        var spec = new DockerNetworkSpec
        {
            Subnet = subnet.ToString(),
            Mode = mode,
            Egress = Egress(generic),
            Mtu = Mtu(generic),
            DnsUpstreams = generic.TryGetValue("dns-upstream", out var dns) ? List(dns) : null,
        };
        // The network is made only once dockerd knows its name (after this call has answered):
        // everything the planner would refuse is refused here, where `docker network create` shows it.
        EgressRules.Parse(spec.Egress, ModeSpec.Parse(spec.Mode).Mode);
        if (spec.Mtu is { } m && (m < Network.NetworkConfig.MinMtu || m > Network.NetworkConfig.MaxMtu))
            throw ControlException.Invalid($"MTU {m} is out of range ({Network.NetworkConfig.MinMtu}-{Network.NetworkConfig.MaxMtu})");
        foreach (var u in spec.DnsUpstreams ?? [])
            if (!Resolvers.HostResolvers.TryParseUpstream(u, out _))
                throw ControlException.Invalid($"invalid dns-upstream '{u}': expected IP or IP:PORT");
        return spec;
    }

    /// <summary>The one IPv4 pool; its gateway must be the subnet's first address, which is where
    /// Switchyard's gateway answers (ARP, DHCP, DNS, NAT).</summary>
    private static Ipv4Subnet Pool(List<IpamData>? pools)
    {
        if (pools is not { Count: > 0 } || pools[0].Pool is not { } pool)
            throw ControlException.Invalid("the switchyard driver needs an IPv4 subnet from Docker's IPAM (docker network create --subnet CIDR)");
        if (pools.Count > 1) throw ControlException.Invalid("a Switchyard network has one IPv4 subnet: give one --subnet");
        var subnet = NetworkPlanner.ParseSubnet(pool);
        if (subnet.Network.Value != (subnet.Network.Value & subnet.Mask))
            throw ControlException.Invalid($"subnet {pool} has host bits set; use {new Ipv4Subnet(new Ipv4Address(subnet.Network.Value & subnet.Mask), subnet.PrefixLength)}");
        if (pools[0].Gateway is { Length: > 0 } gatewayText)
        {
            var slash = gatewayText.IndexOf('/');
            var text = slash < 0 ? gatewayText : gatewayText[..slash];
            if (!Ipv4Address.TryParse(text, out var gateway)) throw ControlException.Invalid($"gateway '{gatewayText}' is not an IPv4 address");
            if (gateway != subnet.FirstHost)
                throw ControlException.Invalid($"gateway {gateway}: Switchyard's gateway is the subnet's first address, {subnet.FirstHost} (leave --gateway out, or give that)");
        }
        return subnet;
    }

    /// <summary><c>egress=deny|allow</c> with <c>allow=RULE[,RULE...]</c> and <c>deny=...</c> (rules as in
    /// docs/egress.md). Allow rules alone mean an allowlist. The rules themselves are checked by the planner.</summary>
    private static EgressPolicySpec? Egress(Dictionary<string, string> generic)
    {
        var allow = generic.TryGetValue("allow", out var a) ? List(a) : null;
        var deny = generic.TryGetValue("deny", out var d) ? List(d) : null;
        string? policy = generic.GetValueOrDefault("egress");
        if (policy is not (null or "deny" or "allow")) throw ControlException.Invalid($"egress '{policy}': use deny (an allowlist) or allow (a denylist)");
        if (policy is null && allow is null && deny is null) return null;
        policy ??= allow is not null ? "deny" : "allow";
        return new EgressPolicySpec { Default = policy, Allow = allow, Deny = deny };
    }

    private static int? Mtu(Dictionary<string, string> generic)
    {
        var text = generic.GetValueOrDefault("mtu") ?? generic.GetValueOrDefault(DockerMtu);
        if (text is null) return null;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mtu)
            ? mtu : throw ControlException.Invalid($"mtu '{text}' is not a number");
    }

    private static List<string> List(string text)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        return items.Count > 0 ? items : throw ControlException.Invalid($"'{text}' names nothing: give NAME[,NAME...]");
    }

    /// <summary>The -o options: libnetwork sends them as a JSON object of strings.</summary>
    private static Dictionary<string, string> Generic(Dictionary<string, JsonElement>? options)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options is null || !options.TryGetValue(GenericData, out var generic) || generic.ValueKind == JsonValueKind.Null) return result;
        if (generic.ValueKind != JsonValueKind.Object) throw ControlException.Invalid($"{GenericData} is not an object of options");
        foreach (var p in generic.EnumerateObject())
            result[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        return result;
    }

    private static bool Flag(Dictionary<string, JsonElement>? options, string key) =>
        options is not null && options.TryGetValue(key, out var v) && (v.ValueKind == JsonValueKind.True
            || v.ValueKind == JsonValueKind.String && bool.TryParse(v.GetString(), out var b) && b);

    /// <summary>The request a new network is created with.</summary>
    public static NetworkCreateRequest ToCreateRequest(string name, DockerNetworkSpec spec, string networkId) => new()
    {
        Name = name,
        Mode = spec.Mode,
        Subnet = spec.Subnet,
        Mtu = spec.Mtu,
        Egress = spec.Egress,
        DnsUpstreams = spec.DnsUpstreams,
        Labels = new Dictionary<string, string> { [Labels.NetworkId] = networkId, [Labels.Driver] = "docker" },
    };

    /// <summary>Where the Docker IDs are recorded on Switchyard's networks and endpoints.</summary>
    public static class Labels
    {
        public const string NetworkId = "com.docker.network.id";
        public const string EndpointId = "com.docker.endpoint.id";
        public const string Driver = Planning.LabelRules.CreatedBy;   // network prune keeps what a runtime made
    }

    /// <summary>A Docker network name as a Switchyard network name (a DNS label: the network's domain
    /// is NAME.internal): lower case, '_' and '.' as '-'. Null when it cannot be one.</summary>
    public static string? NetworkName(string dockerName)
    {
        var name = new string(dockerName.ToLowerInvariant().Select(c => c is '_' or '.' ? '-' : c).ToArray()).Trim('-');
        return Names.CheckLabel("network", name) is null ? name : null;
    }

    /// <summary>The name a network gets when dockerd cannot tell its name (no --docker-host answer).</summary>
    public static string FallbackName(string networkId) => "docker-" + Short(networkId);

    /// <summary>The Switchyard endpoint of a Docker endpoint: stable, so every call finds it from the ID alone.</summary>
    public static string EndpointName(string endpointId) => "docker-" + Short(endpointId);

    /// <summary>The TAP the daemon makes for Docker to move into the container: 15 bytes at most (IFNAMSIZ).</summary>
    public static string TapName(string endpointId) => "sy" + CheckId(endpointId)[..13];

    private static string Short(string id) => CheckId(id)[..12];

    /// <summary>Docker's IDs are 64 lower-case hex digits.</summary>
    public static string CheckId(string id) =>
        id.Length >= 13 && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f') ? id : throw ControlException.Invalid($"'{TransportPlanner.Printable(id)}' is not a Docker ID");
}
