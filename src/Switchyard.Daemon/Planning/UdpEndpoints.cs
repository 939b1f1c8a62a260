using System.Globalization;
using System.Net;
using Switchyard.Daemon.Control;

namespace Switchyard.Daemon.Planning;

/// <summary>The UDP transport's addresses: what a user may write (<c>PORT</c>, <c>ADDR:PORT</c>,
/// <c>[V6ADDR]:PORT</c>, <c>localhost:PORT</c>) and the one form that is stored and shown
/// (<see cref="IPEndPoint.ToString"/>: <c>127.0.0.1:5000</c>, <c>[::1]:5000</c>).</summary>
public static class UdpEndpoints
{
    /// <summary>The address a bare port listens on: loopback, so nothing beyond this host can send
    /// frames unless the user names another address.</summary>
    public static readonly IPAddress DefaultListen = IPAddress.Loopback;

    /// <summary>A stored (already normalised) endpoint.</summary>
    public static IPEndPoint Parse(string stored) =>
        IPEndPoint.TryParse(stored, out var e) ? e : throw new FormatException($"not a UDP endpoint: {stored}");

    /// <summary>The listening address: a port alone means <see cref="DefaultListen"/>.</summary>
    public static string NormalizeListen(string text)
    {
        var e = Read(text, "--udp-listen", DefaultListen);
        if (IsMulticast(e.Address))
            throw ControlException.Invalid($"--udp-listen {Printable(text)}: a multicast group is not supported; listen on a unicast address");
        return e.ToString();
    }

    /// <summary>The VM's address: a port alone means the listening address's loopback; the
    /// family must be the listening address's (one socket, one family).</summary>
    public static string NormalizePeer(string text, string listen)
    {
        var local = Parse(listen);
        var e = Read(text, "--udp-peer", local.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback);
        if (e.AddressFamily != local.AddressFamily)
            throw ControlException.Invalid($"--udp-peer {Printable(text)} is {Family(e)} but --udp-listen {listen} is {Family(local)}; give both in one family");
        if (e.Address.Equals(IPAddress.Any) || e.Address.Equals(IPAddress.IPv6Any) || e.Address.Equals(IPAddress.Broadcast) || IsMulticast(e.Address))
            throw ControlException.Invalid($"--udp-peer {Printable(text)}: the peer must be one host's unicast address");
        return e.ToString();
    }

    private static IPEndPoint Read(string text, string option, IPAddress bare)
    {
        if (string.IsNullOrWhiteSpace(text)) throw ControlException.Invalid($"{option} needs ADDR:PORT or PORT");
        text = text.Trim();
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)) text = Join(bare, text["localhost:".Length..]);
        // A bare number is a port (IPEndPoint.TryParse would read "5000" as the address 0.0.19.136).
        else if (text.All(char.IsAsciiDigit)) text = Join(bare, text);
        int colon = text.LastIndexOf(':');
        // "::1" alone parses as an address without a port; demand the port.
        bool hasPort = colon > 0 && (text[0] != '[' || text[colon - 1] == ']') && (text.Count(c => c == ':') == 1 || text[0] == '[');
        if (!hasPort || !IPEndPoint.TryParse(text, out var e))
            throw ControlException.Invalid($"{option} {Printable(text)}: expected ADDR:PORT, [IPV6]:PORT or PORT");
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            throw ControlException.Invalid($"{option} {Printable(text)}: the port must be 1-65535");
        if (e.Address.IsIPv4MappedToIPv6) e = new IPEndPoint(e.Address.MapToIPv4(), e.Port);
        return e;
    }

    private static string Join(IPAddress address, string port) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}";

    private static bool IsMulticast(IPAddress a) =>
        a.IsIPv6Multicast || (a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && (a.GetAddressBytes()[0] & 0xF0) == 0xE0);

    private static string Family(IPEndPoint e) => e.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    private static string Printable(string s) => TransportPlanner.Printable(s);
}
