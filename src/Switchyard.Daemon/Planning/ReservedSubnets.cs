using Switchyard.Packets;

namespace Switchyard.Daemon.Planning;

/// <summary>IPv4 ranges no network may take, each with why (RFC 6890's special-purpose registry).
/// A guest network there would not work, or would break the host: the kernel keeps 127/8 and
/// 169.254/16 to itself, guests' stacks treat 0/8, 224/4 and 240/4 as no unicast address at all.</summary>
public static class ReservedSubnets
{
    private static readonly (Ipv4Subnet Range, string Why)[] Ranges =
    [
        (Ipv4Subnet.Parse("0.0.0.0/8"), "'this network' (RFC 1122 §3.2.1.3): a source-only range no host may be given"),
        (Ipv4Subnet.Parse("127.0.0.0/8"), "loopback (RFC 1122 §3.2.1.3): every host, the daemon's and the guests', keeps it to itself"),
        (Ipv4Subnet.Parse("169.254.0.0/16"), "link-local (RFC 3927): hosts configure it themselves and routers never forward it"),
        (Ipv4Subnet.Parse("224.0.0.0/4"), "multicast (RFC 5771): a group address cannot be a host's"),
        (Ipv4Subnet.Parse("240.0.0.0/4"), "reserved (RFC 1112 §4) with the limited broadcast 255.255.255.255 (RFC 919): hosts refuse it as unicast"),
    ];

    /// <summary>Why <paramref name="subnet"/> cannot be a network's (the first reserved range it
    /// overlaps), or null when it is ordinary unicast space.</summary>
    public static string? Refusal(Ipv4Subnet subnet)
    {
        foreach (var (range, why) in Ranges)
            if (range.Overlaps(subnet))
                return $"subnet {subnet} is in {range}, {why}; choose another with --subnet (e.g. 10.N.0.0/24 or 192.168.N.0/24)";
        return null;
    }
}
