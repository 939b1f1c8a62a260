using Switchyard.Packets;

namespace Switchyard.Network.Dhcp;

/// <summary>The endpoint a DHCP client is, found by its MAC (which anti-spoofing ties to one
/// switch port), and the address IPAM reserved for it. <paramref name="DefaultRoute"/>: whether the
/// lease names the gateway as router (option 3); a guest on several networks takes its default
/// route from exactly one of them.</summary>
public readonly record struct DhcpBinding(string HostName, Ipv4Address Address, bool DefaultRoute = true);

public enum LeaseState { Offered, Bound, Released, Declined }

/// <summary>What the DHCP server asks of the network that owns the addresses.</summary>
public interface IDhcpBindings
{
    bool TryGetBinding(MacAddress client, out DhcpBinding binding);

    /// <summary>The client found <paramref name="declined"/> in use (RFC 2131 §4.4.1 DHCPDECLINE):
    /// quarantine it and give the endpoint another address.</summary>
    bool TryReassign(MacAddress client, Ipv4Address declined, out Ipv4Address replacement);

    void OnLeaseChanged(MacAddress client, Ipv4Address address, LeaseState state, DateTimeOffset expires);
}
