using System.Net;
using Switchyard.Packets;

namespace Switchyard.Network;

public enum NetworkMode { Nat, Host, Internal, Bridged }

/// <summary>A network as the data plane needs it. <see cref="DnsUpstreams"/> is resolved by the
/// daemon (explicit list, or the host's resolvers as they are now) and read on every forwarded query.
/// <see cref="HostLoopback"/>: the gateway address reaches the host's 127.0.0.1 (nat and host modes).
/// <see cref="DhcpRange"/>: the dynamic pool for DHCP clients with no endpoint (guests behind a VXLAN
/// tunnel; null: none, such clients are not answered); the daemon resolves its default.</summary>
public sealed record NetworkConfig(
    string Name,
    NetworkMode Mode,
    Ipv4Subnet Subnet,
    int Mtu,
    string Domain,
    MacAddress GatewayMac,
    Func<IReadOnlyList<IPEndPoint>> DnsUpstreams,
    TimeSpan LeaseTime,
    bool HostLoopback = true,
    Egress.EgressPolicy? Egress = null,
    Ipv6Prefix? Ipv6 = null,
    int MaxFlows = Nat.NatEngine.DefaultMaxFlows,
    Dhcp.DhcpRange? DhcpRange = null)
{
    public const int DefaultMtu = 1500;
    public const int MinMtu = 576;    // RFC 791: every host must accept 576-byte datagrams
    public const int MaxMtu = 65520;  // what slirp4netns and pasta use on their TAP; fits a 64 KiB buffer with headers
    public Ipv4Address Gateway => Subnet.FirstHost;
    /// <summary>The gateway's global IPv6 address, prefix::1 (null: IPv4 only).</summary>
    public Ipv6Address? GatewayIpv6 => Ipv6?.FirstHost;
    /// <summary>The gateway's link-local address: EUI-64 of its MAC (RFC 4291 Appendix A).</summary>
    public Ipv6Address GatewayLinkLocal => Ipv6Address.LinkLocal(GatewayMac);
}

/// <summary>One guest NIC's identity on a network. With <paramref name="LearnMac"/>, <paramref name="Mac"/>
/// is a placeholder until the VM's first frame shows the MAC it chose. <paramref name="Aliases"/> are
/// extra DNS names for it on this network; <paramref name="DefaultRoute"/> says whether its lease
/// names the gateway as router; <paramref name="Egress"/> is its own egress policy, which narrows the network's;
/// <paramref name="MaxFlows"/> the most NAT flows it may hold (0: a quarter of the network's).</summary>
public sealed record EndpointConfig(string Name, MacAddress Mac, Ipv4Address Ipv4, bool LearnMac = false,
    IReadOnlyList<string>? Aliases = null, bool DefaultRoute = true, Egress.EgressPolicy? Egress = null, int MaxFlows = 0);
