using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Client;

/// <summary>A host port to forward to a guest port, as <c>--publish</c> and the API spell it:
/// <c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c> (the host address defaults to 127.0.0.1, so nothing
/// listens beyond the host unless asked). Pure text to fields and back: the CLI checks a spec with it
/// before any daemon call, and the daemon turns it into its data-plane form.</summary>
public readonly record struct PublishSpec(IPAddress HostAddress, int HostPort, int GuestPort, ProtocolType Protocol)
{
    public string ProtocolName => Protocol == ProtocolType.Udp ? "udp" : "tcp";

    /// <summary>The spec's canonical text, what inspect shows and state keeps
    /// (<c>8080:80</c> is <c>127.0.0.1:8080:80/tcp</c>).</summary>
    public override string ToString()
    {
        string host = HostAddress.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{HostAddress}]" : HostAddress.ToString();
        return $"{host}:{HostPort}:{GuestPort}/{ProtocolName}";
    }

    /// <summary>Parses a spec; false with a one-line <paramref name="error"/> naming what is wrong.</summary>
    public static bool TryParse(string? text, out PublishSpec spec, out string error)
    {
        spec = default;
        error = "";
        if (string.IsNullOrWhiteSpace(text)) { error = "empty publish spec: expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"; return false; }
        var s = text.Trim();
        var protocol = ProtocolType.Tcp;
        int slash = s.LastIndexOf('/');
        if (slash >= 0)
        {
            var proto = s[(slash + 1)..].ToLowerInvariant();
            if (proto == "udp") protocol = ProtocolType.Udp;
            else if (proto != "tcp") { error = $"publish spec '{text}': protocol must be tcp or udp"; return false; }
            s = s[..slash];
        }
        int guestColon = s.LastIndexOf(':');
        if (guestColon < 0) { error = $"publish spec '{text}': expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"; return false; }
        var guestText = s[(guestColon + 1)..];
        var rest = s[..guestColon];
        var host = IPAddress.Loopback;
        string hostPortText = rest;
        int hostColon = rest.LastIndexOf(':');
        if (hostColon >= 0)
        {
            var addressText = rest[..hostColon].Trim('[', ']');
            hostPortText = rest[(hostColon + 1)..];
            if (!IPAddress.TryParse(addressText, out host!) || (host.AddressFamily == AddressFamily.InterNetwork && host.ToString() != addressText))
            {
                error = $"publish spec '{text}': '{addressText}' is not an IP address";
                return false;
            }
        }
        if (!TryPort(hostPortText, out int hostPort) || !TryPort(guestText, out int guestPort))
        {
            error = $"publish spec '{text}': ports must be numbers from 1 to 65535";
            return false;
        }
        spec = new PublishSpec(host, hostPort, guestPort, protocol);
        return true;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;
}
