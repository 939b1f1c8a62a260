using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Egress;
using Switchyard.Network.Ipam;
using Switchyard.Packets;

namespace Switchyard.Daemon.Planning;

/// <summary>The network an endpoint joins, as its plan sees it: its endpoints by name with their aliases.
/// <paramref name="Pool"/>: the network's dynamic DHCP range, which endpoint addresses never come from.</summary>
public sealed record EndpointTarget(string Name, NetworkMode Mode, Ipv4Subnet Subnet, MacAddress GatewayMac, string? BridgeInterface,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Endpoints, Network.Dhcp.DhcpRange? Pool = null)
{
    public bool Bridged => Mode == NetworkMode.Bridged;
}

/// <summary>Another NIC of the same guest (a tap endpoint in the same namespace, on any network).</summary>
public sealed record SiblingNic(string? Ifname, bool DefaultRoute);

/// <summary>What an attach request asks for, checked: its aliases, policy, transport and route.</summary>
public sealed record EndpointShape(string[] Aliases, EgressPolicy? Egress, StoredTransport Transport, bool DefaultRoute);

/// <summary>The MAC and IPv4 address an endpoint gets; <see cref="Evicted"/>: the long-detached
/// endpoint whose reservation it takes (the subnet was full); <see cref="Previous"/>: its own earlier reservation.</summary>
public sealed record AddressChoice(MacAddress Mac, Ipv4Address Ipv4, string? Evicted, LeaseRow? Previous);

/// <summary>Checks an attach request and chooses the endpoint's interface name, route, MAC and
/// address. Pure: the network, its reservations and the guest's other NICs are given.</summary>
public static class EndpointPlanner
{
    public static EndpointShape Shape(EndpointAttachRequest r, EndpointTarget net, Func<StoredTransport, IReadOnlyList<SiblingNic>> siblingsOf)
    {
        if (Names.CheckLabel("endpoint", r.Name) is { } nameError) throw ControlException.Invalid(nameError);
        if (Names.Reserved.Contains(r.Name)) throw ControlException.Invalid($"'{r.Name}' is reserved for the gateway; choose another endpoint name");
        if (net.Endpoints.ContainsKey(r.Name)) throw ControlException.Conflict($"endpoint '{r.Name}' is already attached to network '{net.Name}'");
        LabelRules.Check(r.Labels, $"endpoint '{r.Name}'");
        var aliases = CheckAliases(net, r.Name, r.Aliases ?? []);
        var egress = EgressRules.Parse(r.Egress, net.Mode);
        var transport = TransportPlanner.Normalize(r.Transport, macGiven: r.Mac is not null);
        if (net.Bridged && transport.Configure)
            throw ControlException.Invalid($"--configure does not apply to bridged network '{net.Name}': the LAN's DHCP server configures its guests (run a DHCP client in the guest)");
        if (net.Bridged && r.Ip is not null)
            throw ControlException.Invalid($"--ip does not apply to bridged network '{net.Name}': the LAN's DHCP server chooses its guests' addresses");
        // The same guest (namespace) on several networks: its NICs are eth0, eth1, ... in attach
        // order, and exactly one of them gives it a default route.
        var siblings = transport.InNamespace ? siblingsOf(transport) : [];
        if (r.Transport?.Ifname is null && siblings.Count > 0) transport = transport with { Ifname = NextIfname(siblings) };
        bool defaultRoute = r.DefaultRoute ?? !siblings.Any(s => s.DefaultRoute);
        return new EndpointShape(aliases, egress, transport, defaultRoute);
    }

    /// <summary>Aliases are DNS labels, not reserved, unique among the network's names and aliases
    /// (a name resolves to one endpoint).</summary>
    public static string[] CheckAliases(EndpointTarget net, string name, IReadOnlyList<string> aliases)
    {
        foreach (var alias in aliases)
        {
            if (Names.CheckLabel("alias", alias) is { } error) throw ControlException.Invalid(error);
            if (Names.Reserved.Contains(alias)) throw ControlException.Invalid($"alias '{alias}' is reserved for the gateway");
            if (alias == name) throw ControlException.Invalid($"alias '{alias}' is the endpoint's own name");
        }
        if (aliases.Distinct().Count() != aliases.Count) throw ControlException.Invalid("an alias is given twice");
        foreach (var (other, taken) in net.Endpoints)
        {
            if (taken.Contains(name)) throw ControlException.Conflict($"'{name}' is an alias of endpoint '{other}' on network '{net.Name}'");
            foreach (var alias in aliases)
                if (alias == other || taken.Contains(alias))
                    throw ControlException.Conflict($"the name '{alias}' is already taken by endpoint '{other}' on network '{net.Name}'");
        }
        return [.. aliases];
    }

    /// <summary>eth0, eth1, ...: the first name the guest's other NICs do not use.</summary>
    public static string NextIfname(IReadOnlyList<SiblingNic> siblings)
    {
        for (int i = 0; ; i++)
        {
            string name = $"eth{i}";
            if (!siblings.Any(s => s.Ifname == name)) return name;
        }
    }

    /// <summary>The endpoint's MAC (given, its reservation's, or a new random one) and address
    /// (given, its reservation's, or the lowest free one).</summary>
    /// <param name="lanMacs">A bridged network's LAN: MACs that networks bridged to the same interface use, with who.</param>
    /// <param name="isAttached">Whether an endpoint name is attached (a detached one's reservation may be evicted).</param>
    public static AddressChoice ChooseAddresses(EndpointAttachRequest r, EndpointTarget net, IReadOnlyList<LeaseRow> leases,
        IReadOnlySet<Ipv4Address> quarantined, IReadOnlyDictionary<MacAddress, string> lanMacs, Func<MacAddress> randomMac)
    {
        var previous = leases.FirstOrDefault(l => l.Endpoint == r.Name);
        MacAddress mac;
        if (r.Mac is not null)
        {
            if (!MacAddress.TryParse(r.Mac, out mac)) throw ControlException.Invalid($"'{r.Mac}' is not a MAC address (expected six hex pairs such as 02:00:00:00:00:01)");
            if (mac.IsMulticast || mac == MacAddress.Zero) throw ControlException.Invalid($"{r.Mac} is not a unicast MAC address");
            if (mac == net.GatewayMac || leases.Any(l => l.Endpoint != r.Name && l.Mac == mac))
                throw ControlException.Conflict($"MAC {mac} is already used on network '{net.Name}'");
        }
        else if (previous is not null) mac = previous.Mac;
        else
        {
            do mac = randomMac();
            while (leases.Any(l => l.Mac == mac) || lanMacs.ContainsKey(mac));
        }
        if (lanMacs.TryGetValue(mac, out var lanHolder))
            throw ControlException.Conflict($"MAC {mac} is already used on {lanHolder}, which shares the LAN of {net.BridgeInterface}");

        Ipv4Address ip;
        string? evicted = null;
        if (r.Ip is not null)
        {
            if (!Ipv4Address.TryParse(r.Ip, out ip)) throw ControlException.Invalid($"'{r.Ip}' is not an IPv4 address");
            if (!AddressAllocator.IsAssignable(net.Subnet, ip, out var why)) throw ControlException.Invalid(why!);
            DhcpRanges.CheckNotPooled(ip, net.Pool, net.Name);
            var holder = leases.FirstOrDefault(l => l.Endpoint != r.Name && l.Ipv4 == ip);
            if (holder is not null)
                throw ControlException.Conflict($"{ip} is already reserved for endpoint '{holder.Endpoint}' on network '{net.Name}'");
            if (quarantined.Contains(ip)) throw ControlException.Conflict($"{ip} was declined by a guest as in use; it is quarantined");
        }
        else if (previous is not null) ip = previous.Ipv4;
        else ip = Allocate(net.Name, net.Subnet, leases, quarantined, name => net.Endpoints.ContainsKey(name), mayEvict: true, out evicted, net.Pool);
        return new AddressChoice(mac, ip, evicted, previous);
    }

    /// <summary>The lowest free address; when the subnet is full and <paramref name="mayEvict"/>,
    /// the reservation of the endpoint detached longest ago (the caller removes it in the same
    /// transaction that records the new one). A decline never evicts: a guest must not be able to
    /// push others out by declining address after address. Never from the dynamic pool's <paramref name="pool"/>.</summary>
    public static Ipv4Address Allocate(string network, Ipv4Subnet subnet, IReadOnlyList<LeaseRow> leases, IReadOnlySet<Ipv4Address> quarantined,
        Func<string, bool> isAttached, bool mayEvict, out string? evicted, Network.Dhcp.DhcpRange? pool = null)
    {
        evicted = null;
        var taken = leases.Select(l => l.Ipv4).ToHashSet();
        if (AddressAllocator.TryAllocate(subnet, a => taken.Contains(a) || quarantined.Contains(a) || (pool is { } p && p.Contains(a)), out var ip)) return ip;
        var oldest = mayEvict ? leases.Where(l => !isAttached(l.Endpoint)).OrderBy(l => l.LastUsed).FirstOrDefault() : null;
        if (oldest is null) throw ControlException.Conflict($"network '{network}' has no free address left in {subnet}");
        evicted = oldest.Endpoint;
        return oldest.Ipv4;
    }

    /// <summary>Addresses quarantined until after <paramref name="now"/>.</summary>
    public static HashSet<Ipv4Address> Quarantined(IEnumerable<(Ipv4Address Ipv4, DateTimeOffset Until)> rows, DateTimeOffset now) =>
        rows.Where(q => q.Until > now).Select(q => q.Ipv4).ToHashSet();
}
