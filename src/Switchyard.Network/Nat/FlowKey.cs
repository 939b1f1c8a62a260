using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>A NAT flow as the guest sees it: its own address and port, and the remote address and
/// port it talks to (an outside host, the gateway for host loopback, or a published port's client).
/// Both families share one key: an IPv4 flow holds IPv4-mapped addresses (::ffff:a.b.c.d, RFC 4291
/// §2.5.5.2), which no guest's IPv6 packet may carry, so the two never collide.</summary>
public readonly record struct FlowKey(Ipv6Address GuestIp, ushort GuestPort, Ipv6Address RemoteIp, ushort RemotePort)
{
    public FlowKey(Ipv4Address guestIp, ushort guestPort, Ipv4Address remoteIp, ushort remotePort)
        : this(Ipv6Address.MapIpv4(guestIp), guestPort, Ipv6Address.MapIpv4(remoteIp), remotePort) { }

    public bool IsIpv4 => GuestIp.IsIpv4Mapped;
    public Ipv4Address GuestIpv4 => GuestIp.MappedIpv4;
    public Ipv4Address RemoteIpv4 => RemoteIp.MappedIpv4;

    /// <summary>The guest's end as a socket address of its own family (not IPv4-mapped); allocates, not for the data path.</summary>
    public System.Net.IPEndPoint GuestEndPoint() => new(IsIpv4 ? GuestIpv4.ToIPAddress() : GuestIp.ToIPAddress(), GuestPort);

    /// <summary>The remote end likewise.</summary>
    public System.Net.IPEndPoint RemoteEndPoint() => new(IsIpv4 ? RemoteIpv4.ToIPAddress() : RemoteIp.ToIPAddress(), RemotePort);

    public override string ToString() => IsIpv4
        ? $"{GuestIpv4}:{GuestPort} <-> {RemoteIpv4}:{RemotePort}"
        : $"[{GuestIp}]:{GuestPort} <-> [{RemoteIp}]:{RemotePort}";
}
