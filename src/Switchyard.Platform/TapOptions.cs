namespace Switchyard.Platform;

/// <summary>How to create (or re-attach to) a TAP device.</summary>
/// <param name="IfName">Interface name, 1..15 ASCII characters (IFNAMSIZ - 1), no '/', whitespace, ':' or '%'.</param>
/// <param name="NetnsPath">A network namespace file such as /run/netns/NAME; null for the daemon's own namespace.</param>
/// <param name="Mac">6-byte unicast MAC address for the guest-side interface.</param>
/// <param name="Mtu">68..65521 (the kernel's TAP maximum is 65535 minus the 14-byte Ethernet header).</param>
/// <param name="Persistent">Set TUNSETPERSIST so the device outlives the fd (and the daemon).</param>
/// <param name="Configure">Optional IPv4 address, prefix and default gateway to assign inside the namespace.</param>
/// <param name="VnetHeader">IFF_VNET_HDR with checksum and TCP segmentation offload: the guest kernel hands over
/// frames of up to 64 KiB with partial checksums (and takes them), each behind a 10-byte virtio_net_hdr.</param>
/// <param name="Eui64Slaac">Before the link comes up, set the interface's IPv6 address generation to EUI-64 with no
/// temporary addresses (net.ipv6.conf.IF.addr_gen_mode=0, use_tempaddr=0), the only SLAAC addresses an IPv6
/// network's anti-spoofing lets through.</param>
public sealed record TapOptions(string IfName, string? NetnsPath, byte[] Mac, int Mtu, bool Persistent = false, Ipv4Config? Configure = null,
    bool VnetHeader = false, bool Eui64Slaac = false);

/// <summary>IPv4 configuration for the guest side. Addresses are 4 bytes in network order (10.0.2.15 = {10,0,2,15}).</summary>
public sealed record Ipv4Config(byte[] Address, int PrefixLength, byte[]? Gateway);
