using Switchyard.Packets;

namespace Switchyard.Network.Dns;

/// <summary>The names a network answers for itself: its endpoints and the gateway. Host names are
/// single labels, compared case-insensitively (RFC 4343).</summary>
public interface ILocalNames
{
    bool TryGetAddress(string host, out Ipv4Address address);
    bool TryGetName(Ipv4Address address, out string host);

    /// <summary>A local name's IPv6 address (IPv6 networks only).</summary>
    bool TryGetAddress(string host, out Ipv6Address address)
    {
        address = default;
        return false;
    }

    bool TryGetName(Ipv6Address address, out string host)
    {
        host = "";
        return false;
    }
}
