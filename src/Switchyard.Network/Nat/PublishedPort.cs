using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Network.Nat;

/// <summary>A host port forwarded to a guest port: <c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c>
/// (the host address defaults to 127.0.0.1, so nothing listens beyond the host unless asked).</summary>
public readonly record struct PublishedPort(IPAddress HostAddress, int HostPort, int GuestPort, ProtocolType Protocol)
{
    public string ProtocolName => Protocol == ProtocolType.Udp ? "udp" : "tcp";

    /// <summary>The spec's canonical text, what inspect shows and state keeps.</summary>
    public override string ToString()
    {
        string host = HostAddress.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{HostAddress}]" : HostAddress.ToString();
        return $"{host}:{HostPort}:{GuestPort}/{ProtocolName}";
    }

    /// <summary>The clear error for a host socket that could not be bound for this spec.</summary>
    internal PublishException BindFailed(SocketException e)
    {
        string where = $"{HostAddress}:{HostPort}/{ProtocolName}";
        return new PublishException(e.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => $"host port {where} is already in use",
            SocketError.AddressNotAvailable => $"{HostAddress} is not an address of this host",
            SocketError.AccessDenied => $"no permission to bind {where} (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
            _ => $"cannot bind {where}: {e.Message}",
        }, e);
    }

    public static bool TryParse(string? text, out PublishedPort port, out string error)
    {
        port = default;
        error = "";
        if (string.IsNullOrWhiteSpace(text)) { error = "empty publish spec: expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"; return false; }
        var spec = text.Trim();
        var protocol = ProtocolType.Tcp;
        int slash = spec.LastIndexOf('/');
        if (slash >= 0)
        {
            var proto = spec[(slash + 1)..].ToLowerInvariant();
            if (proto == "udp") protocol = ProtocolType.Udp;
            else if (proto != "tcp") { error = $"publish spec '{text}': protocol must be tcp or udp"; return false; }
            spec = spec[..slash];
        }
        int guestColon = spec.LastIndexOf(':');
        if (guestColon < 0) { error = $"publish spec '{text}': expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"; return false; }
        var guestText = spec[(guestColon + 1)..];
        var rest = spec[..guestColon];
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
        port = new PublishedPort(host, hostPort, guestPort, protocol);
        return true;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;
}

/// <summary>Publishing failed because the host port cannot be had (in use, or not an address of
/// this host); the message says which.</summary>
public sealed class PublishException(string message, Exception? inner = null) : Exception(message, inner);
