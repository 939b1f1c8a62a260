namespace Switchyard.Fuzz;

/// <summary>One fuzz target: parses <paramref name="input"/> as a guest (or the network) could
/// send it and touches everything a caller can reach from the result. Returning is success,
/// including the parser's documented "malformed" answers; any exception is a finding.</summary>
internal delegate void Target(ReadOnlySpan<byte> input);

internal static class Targets
{
    /// <summary>The largest input a target is given: a GSO job on a TAP (virtio-net header plus
    /// 64 KiB) is the biggest thing a guest hands the daemon in one piece.</summary>
    public const int MaxInputLength = 65536 + 256;

    private static readonly (string Name, Target Run)[] All =
    [
        ("ethernet", LinkTargets.Ethernet),
        ("arp", LinkTargets.Arp),
        ("ipv4", LinkTargets.Ipv4),
        ("ipv6", LinkTargets.Ipv6),
        ("icmp", LinkTargets.Icmp),
        ("icmpv6", LinkTargets.Icmpv6),
        ("reassembly", ReassemblyTarget.Run),
        ("udp", LinkTargets.Udp),
        ("tcp", LinkTargets.Tcp),
        ("dhcp", ServiceTargets.Dhcp),
        ("dns", ServiceTargets.Dns),
        ("dhcp-server", ServerTargets.DhcpServer),
        ("dns-server", ServerTargets.DnsServer),
        ("tls", ServiceTargets.Tls),
        ("http", ServiceTargets.Http),
        ("stream", TransportTargets.Stream),
        ("dgram", TransportTargets.Dgram),
        ("virtio", TransportTargets.Virtio),
        ("vxlan", TransportTargets.Vxlan),
    ];

    public static IEnumerable<string> Names => All.Select(t => t.Name);

    public static bool TryGet(string name, out Target target)
    {
        foreach (var (n, run) in All)
        {
            if (n == name) { target = run; return true; }
        }
        target = null!;
        return false;
    }

    /// <summary>Where targets fold what they read, so no read is dead code the JIT may drop.</summary>
    public static long Sink;
}
