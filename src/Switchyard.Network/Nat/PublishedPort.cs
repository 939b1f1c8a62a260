using System.Net;
using System.Net.Sockets;

namespace Switchyard.Network.Nat;

/// <summary>A host port forwarded to a guest port. Built from fields: the text form
/// <c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c> is parsed by Switchyard.Client's PublishSpec and converted
/// by the daemon (Daemon/Planning/RuleSpecs).</summary>
public readonly record struct PublishedPort(IPAddress HostAddress, int HostPort, int GuestPort, ProtocolType Protocol)
{
    public string ProtocolName => Protocol == ProtocolType.Udp ? "udp" : "tcp";

    /// <summary>The spec's canonical text, what inspect shows and state keeps; the same as PublishSpec's
    /// (RuleSpecsTests checks both agree).</summary>
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
}

/// <summary>Publishing failed because the host port cannot be had (in use, or not an address of
/// this host); the message says which.</summary>
public sealed class PublishException(string message, Exception? inner = null) : Exception(message, inner);
