using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Vxlan;

namespace Switchyard.Daemon.Planning;

/// <summary>Checks a network's VXLAN uplink (issue 14, docs/multi-host.md) and chooses what the
/// request leaves open: the local address (loopback: the tunnel never listens elsewhere unless told,
/// since VXLAN has no authentication, RFC 7348 section 7), the ports (4789, RFC 7348 section 5) and
/// the guests' MTU (the underlay route's minus the encapsulation: the tunnel ends must not fragment,
/// section 4.3). Pure: the host and the other networks' tunnels are given.</summary>
public static class VxlanPlanner
{
    /// <summary>The most peers a tunnel replicates to: each broadcast is sent once per peer (head-end
    /// replication), so a long list multiplies every ARP request and DHCP discover.</summary>
    public const int MaxPeers = 256;

    /// <summary>The largest inner frame an IPv4 UDP datagram can carry: 65535 - 20 (IPv4) - 8 (UDP)
    /// - 8 (VXLAN) - 14 (inner Ethernet). A loopback underlay's 65536 would otherwise allow more.</summary>
    public const int MaxMtu = 65485;

    /// <summary>The encapsulation a guest's IP packet pays on this underlay: outer IP (20 or 40), UDP (8),
    /// VXLAN (8) and the inner Ethernet header (14).</summary>
    public static int Overhead(AddressFamily underlay) =>
        underlay == AddressFamily.InterNetworkV6 ? VxlanSettings.Overhead + 20 : VxlanSettings.Overhead;

    /// <summary>A create request's tunnel, checked whole; <paramref name="others"/> are the other
    /// networks' tunnels (their local addresses must not collide with this one's).</summary>
    public static StoredVxlan Plan(VxlanSpec spec, IEnumerable<(string Network, StoredVxlan Vxlan)> others)
    {
        if (spec.Vni is < 0 or > (int)VxlanSettings.MaxVni)
            throw ControlException.Invalid($"VXLAN VNI {spec.Vni} is out of range: it is 24 bits, 0-{VxlanSettings.MaxVni} (RFC 7348 section 5)");
        var given = (spec.Peers ?? []).Select(p => ParseAddress(p, "--vxlan-peer")).ToList();
        IPEndPoint local;
        if (spec.Local is { } text) local = ParseAddress(text, "--vxlan-local");
        else
        {
            // Loopback of the peers' family: a tunnel to other hosts must be told where to listen.
            bool v6 = given.Count > 0 && given[0].AddressFamily == AddressFamily.InterNetworkV6;
            local = new IPEndPoint(v6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, VxlanSettings.DefaultPort);
        }
        CheckLocal(local);
        var peers = new List<string>();
        foreach (var peer in given)
        {
            CheckPeer(peer, local, spec.Local is null);
            string canonical = peer.ToString();
            if (peers.Contains(canonical)) throw ControlException.Invalid($"--vxlan-peer {canonical} is given twice");
            CheckOnePortPerAddress(peer, peers, "given too");
            peers.Add(canonical);
        }
        if (peers.Count > MaxPeers) throw ControlException.Invalid($"{peers.Count} VXLAN peers: at most {MaxPeers} (every broadcast is sent to each)");
        foreach (var (network, other) in others)
            if (Collides(local, IPEndPoint.Parse(other.Local)))
                throw ControlException.Conflict($"VXLAN address {local} is taken by network '{network}' ({other.Local}); give this one another --vxlan-local port");
        return new StoredVxlan { Vni = spec.Vni, Local = local.ToString(), Peers = peers };
    }

    /// <summary>Peers added and removed (PATCH): the new list, or the reason it cannot be.</summary>
    public static StoredVxlan EditPeers(StoredVxlan current, VxlanUpdate edit, string network)
    {
        var local = IPEndPoint.Parse(current.Local);
        var peers = current.Peers.ToList();
        foreach (var text in edit.RemovePeers ?? [])
        {
            string canonical = ParseAddress(text, "--remove-vxlan-peer").ToString();
            if (!peers.Remove(canonical))
                throw ControlException.NotFound($"network '{network}' has no VXLAN peer {canonical} (its peers: {(peers.Count == 0 ? "none" : string.Join(", ", current.Peers))})");
        }
        foreach (var text in edit.AddPeers ?? [])
        {
            var peer = ParseAddress(text, "--vxlan-peer");
            CheckPeer(peer, local, localDefaulted: false);
            string canonical = peer.ToString();
            if (peers.Contains(canonical)) throw ControlException.Conflict($"network '{network}' already has the VXLAN peer {canonical}");
            CheckOnePortPerAddress(peer, peers, $"already a peer of network '{network}'");
            peers.Add(canonical);
        }
        if (peers.Count > MaxPeers) throw ControlException.Invalid($"{peers.Count} VXLAN peers: at most {MaxPeers} (every broadcast is sent to each)");
        return current with { Peers = peers };
    }

    /// <summary>The guests' MTU when --mtu is not given: the smallest IP MTU of the routes to the
    /// peers (to the local address when there are none yet; 1500 when the host cannot say) minus
    /// the encapsulation, so an inner frame never needs fragmenting (RFC 7348 section 4.3).</summary>
    public static int DefaultMtu(StoredVxlan vxlan, IHostView host)
    {
        var local = IPEndPoint.Parse(vxlan.Local);
        IEnumerable<IPAddress> towards = vxlan.Peers.Count > 0 ? vxlan.Peers.Select(p => IPEndPoint.Parse(p).Address)
            : IsAny(local.Address) ? [] : [local.Address];
        int? underlay = null;
        foreach (var address in towards)
            if (host.UnderlayMtu(address) is { } mtu) underlay = Math.Min(underlay ?? int.MaxValue, mtu);
        int guests = Math.Min((underlay ?? NetworkConfig.DefaultMtu) - Overhead(local.AddressFamily), MaxMtu);
        if (guests < NetworkConfig.MinMtu)
            throw ControlException.Invalid($"the VXLAN underlay's MTU {underlay} leaves {guests} bytes for the guests, less than {NetworkConfig.MinMtu}; raise the underlay's MTU");
        return guests;
    }

    /// <summary><c>ADDR</c>, <c>ADDR:PORT</c>, <c>[V6ADDR]</c>, <c>[V6ADDR]:PORT</c> or a bare IPv6
    /// address; the port defaults to 4789. Names are not resolved: a tunnel's peers are addresses.</summary>
    public static IPEndPoint ParseAddress(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) throw ControlException.Invalid($"{option} needs ADDR[:PORT]");
        string s = text.Trim(), address = s, port = "";
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']');
            if (close < 0 || (close + 1 < s.Length && s[close + 1] != ':')) throw Bad();
            address = s[1..close];
            port = close + 1 < s.Length ? s[(close + 2)..] : "";
        }
        else if (s.Count(c => c == ':') == 1)
        {
            int colon = s.IndexOf(':');
            (address, port) = (s[..colon], s[(colon + 1)..]);
        }
        if (!IPAddress.TryParse(address, out var ip) || address.Contains('%')) throw Bad();
        int number = VxlanSettings.DefaultPort;
        if (s.EndsWith(':') || (port.Length > 0 && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535)))
            throw ControlException.Invalid($"{option} {Printable(s)}: the port must be 1-65535");
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        return new IPEndPoint(ip, number);

        ControlException Bad() => ControlException.Invalid($"{option} {Printable(s)}: expected ADDR[:PORT] or [IPV6][:PORT] (an IP address, port default {VxlanSettings.DefaultPort})");
    }

    private static void CheckLocal(IPEndPoint local)
    {
        if (IsMulticast(local.Address) || local.Address.Equals(IPAddress.Broadcast))
            throw ControlException.Invalid($"--vxlan-local {local}: a multicast or broadcast address is not supported (peers are listed: head-end replication); listen on a unicast address");
    }

    private static void CheckPeer(IPEndPoint peer, IPEndPoint local, bool localDefaulted)
    {
        if (peer.AddressFamily != local.AddressFamily)
            throw ControlException.Invalid($"--vxlan-peer {peer} is {Family(peer)} but the tunnel listens on {local} ({Family(local)}); one tunnel, one family");
        if (IsAny(peer.Address) || peer.Address.Equals(IPAddress.Broadcast) || IsMulticast(peer.Address))
            throw ControlException.Invalid($"--vxlan-peer {peer}: a peer is one host's unicast address");
        if (peer.Equals(local)) throw ControlException.Invalid($"--vxlan-peer {peer} is the tunnel's own address");
        if (IPAddress.IsLoopback(local.Address) && !IPAddress.IsLoopback(peer.Address))
            throw ControlException.Invalid(localDefaulted
                ? $"--vxlan-peer {peer} is another host: give --vxlan-local with this host's address on the underlay (the tunnel listens on loopback unless told, since VXLAN has no authentication)"
                : $"--vxlan-peer {peer} is another host, which the tunnel's loopback address {local} cannot reach; give --vxlan-local this host's address on the underlay");
    }

    /// <summary>One peer per address: the tunnel knows a datagram's peer by its source address alone (the
    /// kernel and Open vSwitch pick the source port by flow hash, RFC 7348 section 5), so two ports of
    /// one address would be one peer to it, learning and counting for either. Refused, naming both.</summary>
    private static void CheckOnePortPerAddress(IPEndPoint peer, IEnumerable<string> peers, string where)
    {
        foreach (var text in peers)
        {
            var other = IPEndPoint.Parse(text);
            if (other.Address.Equals(peer.Address))
                throw ControlException.Invalid($"--vxlan-peer {peer}: {other} is {where}, on the same address with another port; " +
                    "a tunnel tells its peers apart by address only (their source ports vary), so give each address once, with the port its VTEP listens on");
        }
    }

    /// <summary>Two sockets of the daemon's that could not both bind: the same port and family, and
    /// the same address or either on every address.</summary>
    private static bool Collides(IPEndPoint a, IPEndPoint b) =>
        a.Port == b.Port && a.AddressFamily == b.AddressFamily && (a.Address.Equals(b.Address) || IsAny(a.Address) || IsAny(b.Address));

    private static bool IsAny(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    private static bool IsMulticast(IPAddress a) =>
        a.IsIPv6Multicast || (a.AddressFamily == AddressFamily.InterNetwork && (a.GetAddressBytes()[0] & 0xF0) == 0xE0);

    private static string Family(IPEndPoint e) => e.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    private static string Printable(string s) => TransportPlanner.Printable(s);
}
