using System.Net;

namespace Switchyard.Network.Vxlan;

/// <summary>A network's VXLAN uplink (RFC 7348) as the data plane needs it: the 24-bit VXLAN Network
/// Identifier, the local UDP address it listens on (loopback unless the user names another) and the
/// remote VTEPs it replicates broadcast, multicast and unknown unicast to (head-end replication,
/// no multicast underlay). Peers change at run time through <see cref="IVxlanTunnel.SetPeers"/>.</summary>
public sealed record VxlanSettings(uint Vni, IPEndPoint Local, IReadOnlyList<IPEndPoint> Peers)
{
    /// <summary>IANA's port for VXLAN (RFC 7348 section 5).</summary>
    public const int DefaultPort = 4789;

    /// <summary>The Linux kernel's historical default (before IANA assigned 4789), accepted for interop.</summary>
    public const int LinuxLegacyPort = 8472;

    /// <summary>Outer Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8) = 50 bytes an inner frame costs on
    /// an IPv4 underlay (RFC 7348 section 4.3: the tunnel ends must not fragment), so a guest's MTU is
    /// the underlay's minus this.</summary>
    public const int Overhead = 50;

    /// <summary>The VNI is 24 bits (RFC 7348 section 5).</summary>
    public const uint MaxVni = (1u << 24) - 1;
}
