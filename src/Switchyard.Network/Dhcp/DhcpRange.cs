using Switchyard.Packets;

namespace Switchyard.Network.Dhcp;

/// <summary>The addresses the DHCP server may hand to clients it has no endpoint for (guests behind a
/// VXLAN tunnel, docs/multi-host.md): <c>FIRST-LAST</c>, both inclusive, inside the network's subnet,
/// never the gateway, network or broadcast address. Endpoint reservations (IPAM) never come from it,
/// so the two never meet.</summary>
public readonly record struct DhcpRange(Ipv4Address First, Ipv4Address Last)
{
    public uint Count => Last.Value - First.Value + 1;

    public bool Contains(Ipv4Address a) => a.Value >= First.Value && a.Value <= Last.Value;

    /// <summary>The default when a network has a tunnel and no <c>--dhcp-range</c>: the upper half of
    /// the subnet's hosts (10.0.0.128-10.0.0.254 of a /24), so IPAM's lowest-free-first endpoint
    /// addresses and the pool grow towards each other. Null for a subnet with no address after the gateway.</summary>
    public static DhcpRange? UpperHalf(Ipv4Subnet subnet)
    {
        uint firstFree = subnet.FirstHost.Value + 1, last = subnet.LastHost.Value;
        if (subnet.PrefixLength > 30 || last < firstFree) return null;
        uint size = subnet.BroadcastAddress.Value - subnet.Network.Value + 1;
        uint first = Math.Max(subnet.Network.Value + size / 2, firstFree);
        return new DhcpRange(new Ipv4Address(first), new Ipv4Address(last));
    }

    /// <summary>Parses <c>FIRST-LAST</c> and checks it against <paramref name="subnet"/>; the error is one line for the user.</summary>
    public static bool TryParse(string? text, Ipv4Subnet subnet, out DhcpRange range, out string? error)
    {
        range = default;
        error = null;
        var parts = text?.Split('-', StringSplitOptions.TrimEntries);
        if (parts is not [var a, var b] || !Ipv4Address.TryParse(a, out var first) || !Ipv4Address.TryParse(b, out var last))
        {
            error = $"--dhcp-range '{text}' is not FIRST-LAST (two IPv4 addresses, e.g. 10.0.0.128-10.0.0.254)";
            return false;
        }
        if (last.Value < first.Value) error = $"--dhcp-range {text}: {last} comes before {first}";
        else if (!subnet.Contains(first) || !subnet.Contains(last)) error = $"--dhcp-range {text} is not inside the network's subnet {subnet}";
        else if (first == subnet.Network || last == subnet.BroadcastAddress) error = $"--dhcp-range {text} includes the subnet's network or broadcast address";
        else if (first.Value <= subnet.FirstHost.Value && last.Value >= subnet.FirstHost.Value) error = $"--dhcp-range {text} includes the gateway's address {subnet.FirstHost}";
        if (error is not null) return false;
        range = new DhcpRange(first, last);
        return true;
    }

    public override string ToString() => $"{First}-{Last}";
}
