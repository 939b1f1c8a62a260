using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Switchyard.Platform;

/// <summary>One interface of the host, as a bridged network sees it. <see cref="Kind"/>: ethernet,
/// wifi, loopback, bridge, bond, vlan, veth, macvlan, tun, tap, tunnel or virtual.
/// <see cref="Reason"/> says why it cannot be bridged, or warns when it can but probably will not work.</summary>
public sealed record HostInterface(
    string Name, string Kind, string? Mac, int Mtu, string State, IReadOnlyList<string> Addresses, bool CanBridge, string? Reason);

/// <summary>The host's interfaces and which of them a network can bridge to. Names, MACs, MTUs and
/// addresses come from System.Net.NetworkInformation (Linux and macOS alike); on Linux the kind and
/// state are read from /sys/class/net, which knows veths, bridges and Wi-Fi apart.</summary>
public static class HostInterfaces
{
    private const string SysNet = "/sys/class/net";
    private const int ArphrdEther = 1, ArphrdLoopback = 772;

    public static IReadOnlyList<HostInterface> List()
    {
        var list = new List<HostInterface>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            list.Add(Describe(nic));
        list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return list;
    }

    /// <summary>The interface called <paramref name="name"/>, or null when the host has none.</summary>
    public static HostInterface? Find(string name)
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            if (nic.Name == name) return Describe(nic);
        return null;
    }

    private static HostInterface Describe(NetworkInterface nic)
    {
        var addresses = new List<string>();
        int mtu = 0;
        try
        {
            var ip = nic.GetIPProperties();
            foreach (var a in ip.UnicastAddresses)
            {
                // No "%scope" on link-local IPv6: the interface is the row itself.
                var address = a.Address.AddressFamily == AddressFamily.InterNetworkV6 && a.Address.ScopeId != 0
                    ? new System.Net.IPAddress(a.Address.GetAddressBytes()) : a.Address;
                var text = address.ToString();
                addresses.Add(a.PrefixLength > 0 ? $"{text}/{a.PrefixLength}" : text);
            }
            if (nic.Supports(NetworkInterfaceComponent.IPv4)) mtu = ip.GetIPv4Properties()?.Mtu ?? 0;
            else if (nic.Supports(NetworkInterfaceComponent.IPv6)) mtu = ip.GetIPv6Properties()?.Mtu ?? 0;
        }
        catch (NetworkInformationException) { }
        catch (PlatformNotSupportedException) { }

        var macBytes = nic.GetPhysicalAddress().GetAddressBytes();
        string? mac = macBytes.Length == 6 ? string.Join(':', macBytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture))) : null;

        string kind;
        string state;
        bool adminUp;
        int hwType;
        if (OperatingSystem.IsLinux() && Directory.Exists(Path.Combine(SysNet, nic.Name)))
        {
            var dir = Path.Combine(SysNet, nic.Name);
            hwType = ReadInt(dir, "type") ?? -1;
            kind = LinuxKind(dir, nic.Name, hwType);
            state = ReadText(dir, "operstate") ?? "unknown";
            adminUp = ((ReadHex(dir, "flags") ?? 0) & 0x1) != 0;   // IFF_UP
            if (ReadInt(dir, "mtu") is { } sysMtu) mtu = sysMtu;
        }
        else
        {
            kind = nic.NetworkInterfaceType switch
            {
                NetworkInterfaceType.Loopback => "loopback",
                NetworkInterfaceType.Wireless80211 => "wifi",
                NetworkInterfaceType.Ethernet or NetworkInterfaceType.GigabitEthernet or NetworkInterfaceType.FastEthernetT => "ethernet",
                _ => "virtual",
            };
            state = nic.OperationalStatus switch
            {
                OperationalStatus.Up => "up",
                OperationalStatus.Down => "down",
                OperationalStatus.Dormant => "dormant",
                OperationalStatus.LowerLayerDown => "lowerlayerdown",
                _ => "unknown",
            };
            adminUp = nic.OperationalStatus != OperationalStatus.Down;
            hwType = kind == "loopback" ? ArphrdLoopback : mac is null ? -1 : ArphrdEther;
        }

        var (canBridge, reason) = Bridgeable(kind, hwType, adminUp, state);
        return new HostInterface(nic.Name, kind, mac, mtu, adminUp ? state : "down", addresses, canBridge, reason);
    }

    /// <summary>Whether guests can join the LAN of an interface of this kind and state.</summary>
    private static (bool, string?) Bridgeable(string kind, int hwType, bool adminUp, string state)
    {
        if (kind == "loopback") return (false, "loopback: it has no LAN to join");
        if (hwType != ArphrdEther) return (false, "not an Ethernet interface: it carries no frames with MAC addresses");
        if (!adminUp) return (false, "the interface is down");
        // "unknown" is what drivers without carrier reporting (tun, some virtual NICs) say while working.
        if (state is "down" or "lowerlayerdown" or "notpresent") return (false, $"the interface has no link ({state})");
        // IEEE 802.11 frames have three addresses: a station may only send from its own MAC, so an
        // access point drops frames from guests' MACs unless it supports 4-address (WDS) mode.
        if (kind == "wifi") return (true, "warning: most Wi-Fi interfaces cannot carry frames from other MACs (guests' frames would be dropped by the access point)");
        return (true, null);
    }

    private static string LinuxKind(string dir, string name, int hwType)
    {
        if (hwType == ArphrdLoopback) return "loopback";
        if (Directory.Exists(Path.Combine(dir, "wireless")) || Directory.Exists(Path.Combine(dir, "phy80211"))) return "wifi";
        if (Directory.Exists(Path.Combine(dir, "bridge"))) return "bridge";
        if (Directory.Exists(Path.Combine(dir, "bonding"))) return "bond";
        var devtype = ReadUevent(dir, "DEVTYPE");
        if (devtype is "wlan") return "wifi";
        if (devtype is "vlan" or "bridge" or "bond") return devtype;
        if (File.Exists(Path.Combine(dir, "tun_flags")))
            return ((ReadHex(dir, "tun_flags") ?? 0) & 0x0002) != 0 ? "tap" : "tun";   // IFF_TAP
        if (hwType != ArphrdEther) return "tunnel";
        // A NIC has a device behind it; a virtual interface does not.
        if (Directory.Exists(Path.Combine(dir, "device"))) return "ethernet";
        bool stacked = Directory.EnumerateFileSystemEntries(dir, "lower_*").Any();
        // A veth's iflink is its peer's index; macvlan and vlan interfaces have a lower device instead.
        if (!stacked && ReadInt(dir, "iflink") is { } iflink && ReadInt(dir, "ifindex") is { } index && iflink != index) return "veth";
        if (stacked) return devtype ?? "macvlan";
        return devtype ?? "virtual";
    }

    private static string? ReadText(string dir, string file)
    {
        try { return File.ReadAllText(Path.Combine(dir, file)).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static int? ReadInt(string dir, string file) =>
        int.TryParse(ReadText(dir, file), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static int? ReadHex(string dir, string file)
    {
        var text = ReadText(dir, file);
        if (text is null) return null;
        if (text.StartsWith("0x", StringComparison.Ordinal)) text = text[2..];
        return int.TryParse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    private static string? ReadUevent(string dir, string key)
    {
        var text = ReadText(dir, "uevent");
        if (text is null) return null;
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(key + "=", StringComparison.Ordinal)) return line[(key.Length + 1)..].Trim();
        return null;
    }
}
