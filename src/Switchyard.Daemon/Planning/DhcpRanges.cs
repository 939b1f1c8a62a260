using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Dhcp;
using Switchyard.Packets;

namespace Switchyard.Daemon.Planning;

/// <summary>A network's dynamic pool (<c>--dhcp-range FIRST-LAST</c>): addresses its DHCP server gives
/// to clients with no endpoint, the guests behind a VXLAN tunnel (docs/multi-host.md). Stored as
/// given; with none given, a network with a tunnel takes the upper half of its subnet
/// (<see cref="DhcpRange.UpperHalf"/>), and one without gives nothing to clients it does not know.
/// Endpoint addresses (IPAM) never come from the range, so the two sets never meet.</summary>
public static class DhcpRanges
{
    /// <summary>What <c>network update --dhcp-range default</c> sends: back to the default.</summary>
    public const string Default = "default";

    /// <summary>The range to store for a request: null (the default) or the canonical FIRST-LAST.</summary>
    public static string? Check(string? text, Ipv4Subnet subnet, NetworkMode mode)
    {
        if (text is null || text == Default) return null;
        if (mode == NetworkMode.Bridged)
            throw ControlException.Invalid("--dhcp-range does not apply to a bridged network: the LAN's (or the gateway host's) DHCP server gives its guests their addresses");
        if (!DhcpRange.TryParse(text, subnet, out var range, out var error)) throw ControlException.Invalid(error!);
        return range.ToString();
    }

    /// <summary>The range the live network uses: the stored one, else the upper half when it has a tunnel.</summary>
    public static DhcpRange? Effective(Ipv4Subnet subnet, string? stored, NetworkMode mode, bool hasTunnel)
    {
        if (mode == NetworkMode.Bridged) return null;
        if (stored is not null) return DhcpRange.TryParse(stored, subnet, out var range, out _) ? range : null;
        return hasTunnel ? DhcpRange.UpperHalf(subnet) : null;
    }

    /// <summary>A range may not take addresses reserved for endpoints (attached or not): 409 naming them.</summary>
    public static void CheckFree(string network, DhcpRange range, IEnumerable<LeaseRow> reservations)
    {
        var inside = reservations.Where(l => range.Contains(l.Ipv4)).Select(l => $"{l.Endpoint} ({l.Ipv4})").ToList();
        if (inside.Count > 0)
            throw ControlException.Conflict($"--dhcp-range {range} holds addresses reserved for endpoints of network '{network}': {string.Join(", ", inside)}; choose another range");
    }

    /// <summary>An endpoint's <c>--ip</c> may not be one of the pool's.</summary>
    public static void CheckNotPooled(Ipv4Address ip, DhcpRange? range, string network)
    {
        if (range is { } r && r.Contains(ip))
            throw ControlException.Invalid($"{ip} is in network '{network}''s DHCP range {r}, kept for guests behind its tunnel; choose an address outside it");
    }
}
