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
    bool VnetHeader = false, bool Eui64Slaac = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> for what the kernel would refuse (or misread) later.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    internal void Validate()
    {
        const string param = "options";
        ValidateIfName(IfName, param);

        if (NetnsPath is { Length: 0 })
        {
            throw new ArgumentException("NetnsPath must be null (own namespace) or a path.", param);
        }

        if (Mac is not { Length: 6 })
        {
            throw new ArgumentException("Mac must be 6 bytes.", param);
        }
        // The kernel rejects group (multicast) and all-zero addresses with EADDRNOTAVAIL; say so up front.
        if ((Mac[0] & 0x01) != 0 || Mac.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            throw new ArgumentException("Mac must be a non-zero unicast address.", param);
        }

        if (Mtu is < TapDevice.MinMtu or > TapDevice.MaxMtu)
        {
            throw new ArgumentOutOfRangeException(param, Mtu, $"Mtu must be {TapDevice.MinMtu}..{TapDevice.MaxMtu} for a TAP device.");
        }

        if (Configure is { } ip)
        {
            if (ip.Address is not { Length: 4 })
            {
                throw new ArgumentException("Configure.Address must be 4 bytes.", param);
            }
            if (ip.PrefixLength is < 1 or > 32)
            {
                throw new ArgumentOutOfRangeException(param, ip.PrefixLength, "Configure.PrefixLength must be 1..32.");
            }
            if (ip.Gateway is not null and not { Length: 4 })
            {
                throw new ArgumentException("Configure.Gateway must be null or 4 bytes.", param);
            }
        }
    }

    internal static void ValidateIfName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        // IFNAMSIZ includes the NUL. '%' would make the kernel pick a name ("tap%d"), which breaks re-attach by name;
        // '/', ':' and whitespace are rejected by dev_valid_name() or confuse sysfs/aliases.
        if (name.Length is 0 or >= Interop.Libc.IFNAMSIZ || name is "." or ".." ||
            name.Any(c => c > 0x7E || c <= 0x20 || c is '/' or ':' or '%'))
        {
            throw new ArgumentException($"Invalid interface name '{name}': 1..{Interop.Libc.IFNAMSIZ - 1} printable ASCII characters, no '/', ':', '%' or whitespace.", paramName);
        }
    }
}

/// <summary>IPv4 configuration for the guest side. Addresses are 4 bytes in network order (10.0.2.15 = {10,0,2,15}).</summary>
public sealed record Ipv4Config(byte[] Address, int PrefixLength, byte[]? Gateway);
