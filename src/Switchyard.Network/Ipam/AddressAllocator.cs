using Switchyard.Packets;

namespace Switchyard.Network.Ipam;

/// <summary>Chooses IPv4 addresses in a subnet. The gateway holds the first host address; the
/// network and broadcast addresses are never handed out. The caller owns the set of taken
/// addresses (reservations of endpoints, attached or not, and quarantined addresses), so an
/// address is never handed out twice.</summary>
public static class AddressAllocator
{
    public static bool IsAssignable(Ipv4Subnet subnet, Ipv4Address address, out string? reason)
    {
        reason = null;
        if (!subnet.Contains(address)) reason = $"{address} is outside the network's subnet {subnet}";
        else if (address == subnet.Network) reason = $"{address} is the subnet's network address";
        else if (address == subnet.BroadcastAddress) reason = $"{address} is the subnet's broadcast address";
        else if (address == subnet.FirstHost) reason = $"{address} is the gateway's address";
        return reason is null;
    }

    /// <summary>The lowest free address after the gateway, or false when the subnet is full.</summary>
    public static bool TryAllocate(Ipv4Subnet subnet, Func<Ipv4Address, bool> isTaken, out Ipv4Address address)
    {
        for (uint a = subnet.FirstHost.Value + 1; a < subnet.BroadcastAddress.Value; a++)
        {
            address = new Ipv4Address(a);
            if (!isTaken(address)) return true;
        }
        address = default;
        return false;
    }
}
