using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;

namespace Switchyard.Platform;

/// <summary>Read-only view of the daemon's own routing tables (used to avoid overlapping guest subnets and prefixes).</summary>
public static class HostRoutes
{
    /// <summary>
    /// Non-default IPv4 routes of the main table. Network is the host-order value of the address
    /// (192.168.1.0 = 0xC0A80100). Linux reads /proc/net/route, i.e. the namespace of the process's main thread.
    /// Other OSes return an empty list for now (macOS would use sysctl NET_RT_DUMP).
    /// </summary>
    public static IReadOnlyList<(uint Network, int PrefixLength, string Interface)> ReadIpv4()
    {
        if (!OperatingSystem.IsLinux())
        {
            return [];
        }
        return ParseProcNetRoute(File.ReadAllText("/proc/net/route"));
    }

    /// <summary>The IP MTU of the route to <paramref name="destination"/> as the kernel would send a
    /// datagram there now (the route's mtu, else its interface's; a learnt path MTU if lower), or null
    /// when it cannot be had (no route, or not Linux: IP_MTU is Linux's; macOS would ask the routing
    /// socket). Connecting a UDP socket sends nothing: it only picks the route.</summary>
    public static int? RouteMtu(System.Net.IPAddress destination)
    {
        if (!OperatingSystem.IsLinux()) return null;
        const int IpMtu = 14, Ipv6Mtu = 24;   // <linux/in.h> IP_MTU, <linux/in6.h> IPV6_MTU
        bool v6 = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        try
        {
            using var socket = new System.Net.Sockets.Socket(destination.AddressFamily, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            socket.Connect(new System.Net.IPEndPoint(destination, 9));
            Span<byte> value = stackalloc byte[4];
            int length = socket.GetRawSocketOption(v6 ? 41 : 0, v6 ? Ipv6Mtu : IpMtu, value);
            return length == 4 ? BinaryPrimitives.ReadInt32LittleEndian(value) is var mtu and > 0 ? mtu : null : null;
        }
        catch (System.Net.Sockets.SocketException) { return null; }
    }

    /// <summary>The interface of the IPv4 default route with the lowest metric, or null when the host
    /// has none (Linux; other OSes: null for now). A bridged network without an interface names this one.</summary>
    public static string? DefaultRouteInterface()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        return ParseDefaultInterface(File.ReadAllText("/proc/net/route"));
    }

    internal static string? ParseDefaultInterface(string text)
    {
        string? best = null;
        long bestMetric = long.MaxValue;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var f = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            // Flags (plain hex, not an address) 0x1 = RTF_UP; destination and mask 0 = the default route.
            if (f.Length < 8 || FromProcHex(f[1]) != 0 || FromProcHex(f[7]) != 0 || (uint.Parse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture) & 0x1) == 0)
            {
                continue;
            }
            long metric = long.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) ? m : 0;
            if (metric < bestMetric)
            {
                best = f[0];
                bestMetric = metric;
            }
        }
        return best;
    }

    /// <summary>
    /// Parses /proc/net/route. Address fields are the raw __be32 printed with %08X as a native integer, so on
    /// little-endian machines "0100A8C0" is 192.168.0.1.
    /// </summary>
    internal static IReadOnlyList<(uint Network, int PrefixLength, string Interface)> ParseProcNetRoute(string text)
    {
        var routes = new List<(uint, int, string)>();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Line 0 is the header: Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8)
            {
                continue;
            }
            var dst = FromProcHex(f[1]);
            var mask = FromProcHex(f[7]);
            if (dst == 0 && mask == 0)
            {
                continue; // default route
            }
            routes.Add((dst & mask, BitOperations.PopCount(mask), f[0]));
        }
        return routes;
    }

    private static uint FromProcHex(string hex)
    {
        var raw = uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        // raw holds the network-order bytes in native order; convert to a host-order number.
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(raw) : raw;
    }

    /// <summary>
    /// The host's IPv6 routes (every table) that say where a unicast prefix is: not the default
    /// route, nor link-local, multicast or loopback ones. Network is the 16 bytes of the prefix.
    /// Linux reads /proc/net/ipv6_route; other OSes return an empty list for now.
    /// </summary>
    public static IReadOnlyList<(byte[] Network, int PrefixLength, string Interface)> ReadIpv6()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/net/ipv6_route"))
        {
            return [];
        }
        return ParseProcNetIpv6Route(File.ReadAllText("/proc/net/ipv6_route"));
    }

    /// <summary>
    /// Parses /proc/net/ipv6_route: "DEST(32 hex) PLEN(2 hex) SRC SRCPLEN NEXTHOP METRIC REFCNT USE FLAGS IFACE",
    /// addresses in network order, no header line.
    /// </summary>
    internal static IReadOnlyList<(byte[] Network, int PrefixLength, string Interface)> ParseProcNetIpv6Route(string text)
    {
        var routes = new List<(byte[], int, string)>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || f[0].Length != 32
                || !int.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int length) || length is 0 or > 128)
            {
                continue;
            }
            byte[] network;
            try { network = Convert.FromHexString(f[0]); }
            catch (FormatException) { continue; }
            bool linkLocal = network[0] == 0xFE && (network[1] & 0xC0) == 0x80;
            bool multicast = network[0] == 0xFF;
            bool loopback = length == 128 && network.AsSpan(0, 15).IndexOfAnyExcept((byte)0) < 0 && network[15] == 1;
            if (linkLocal || multicast || loopback)
            {
                continue;
            }
            routes.Add((network, length, f[9]));
        }
        return routes;
    }
}
