using System.Net;

namespace Switchyard.Daemon.Resolvers;

/// <summary>The host's resolvers from resolv.conf(5): every <c>nameserver</c> line, port 53.
/// Loopback stub resolvers (systemd-resolved's 127.0.0.53) work too: the daemon queries them
/// from the host's namespace.</summary>
public static class HostResolvers
{
    public const string DefaultPath = "/etc/resolv.conf";

    /// <summary>The resolvers <paramref name="path"/> lists; none when it is missing or unreadable.</summary>
    public static IReadOnlyList<IPEndPoint> Read(string path) => Parse(TryReadText(path));

    /// <summary>The file's text, or "" when it is missing or unreadable (no resolver at all: the
    /// daemon still serves its guests).</summary>
    public static string TryReadText(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; } // also what reading a directory gives
    }

    /// <summary>Every <c>nameserver IP</c> line of resolv.conf(5) text, port 53, in order, each once
    /// (a zone index such as <c>%eth0</c> is dropped: the daemon's socket picks the route).</summary>
    public static IReadOnlyList<IPEndPoint> Parse(string text)
    {
        var list = new List<IPEndPoint>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith("nameserver", StringComparison.Ordinal)) continue;
            var parts = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[0] == "nameserver" && IPAddress.TryParse(parts[1].Split('%')[0], out var ip))
            {
                var ep = new IPEndPoint(ip, 53);
                if (!list.Contains(ep)) list.Add(ep);
            }
        }
        return list;
    }

    /// <summary>Parses IP, IP:PORT or [IPv6]:PORT.</summary>
    public static bool TryParseUpstream(string text, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (IPAddress.TryParse(text, out var bare))
        {
            if (!IsDottedQuad(bare, text)) return false;
            endPoint = new IPEndPoint(bare, 53);
            return true;
        }
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port != 0)
        {
            int colon = text.LastIndexOf(':');
            if (colon < 0 || !IsDottedQuad(ep.Address, text[..colon])) return false;
            endPoint = ep;
            return true;
        }
        return false;
    }

    /// <summary>IPAddress.TryParse takes inet_aton forms ("1.2.3" is 1.2.0.3, "10" is 0.0.0.10);
    /// an IPv4 upstream must be written as the four decimal octets it means.</summary>
    private static bool IsDottedQuad(IPAddress address, string text) =>
        address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || address.ToString() == text;
}
