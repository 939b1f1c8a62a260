using Microsoft.Extensions.Logging;
using Switchyard.Network.Switching;
using Switchyard.Packets;

namespace Switchyard.Network.Gateway;

/// <summary>What the gateway's IPv6 side needs to know: the network's /64, the domain it
/// advertises for DNS search, the link MTU, and whether it is a default router (not on
/// internal networks, whose guests must have no route off the link). <paramref name="Guests"/>
/// lists the guests' MACs with whether each takes its default route from this network (a
/// multi-homed guest has one); null means every station on the link does.</summary>
public sealed record GatewayIpv6(Ipv6Prefix Prefix, string Domain, int Mtu, bool DefaultRouter,
    Func<IEnumerable<(MacAddress Mac, bool DefaultRoute)>>? Guests = null)
{
    /// <summary>The gateway's global address, prefix::1.</summary>
    public Ipv6Address Address => Prefix.FirstHost;
}

/// <summary>The gateway as an IPv6 router on the link (RFC 4861): answers Neighbor Solicitations
/// for its two addresses (the global prefix::1 and its EUI-64 link-local), and sends Router
/// Advertisements when solicited and every <see cref="AdvertiseInterval"/>, so guests configure
/// themselves by SLAAC (RFC 4862) with DNS from the RA (RFC 8106). Every RA goes to one guest's
/// MAC (to ff02::1 when it has no address yet), never to the link's all-nodes MAC: its router
/// lifetime is that guest's, 0 for a guest whose default route is on another network, as its
/// DHCP lease names no router. The gateway keeps no neighbor cache: it answers every guest at the
/// MAC the guest's frame came from.</summary>
internal sealed class NeighborDiscovery : IDisposable
{
    /// <summary>MaxRtrAdvInterval (RFC 4861 §6.2.1 allows 4..1800 s; 600 s is its default). Shorter
    /// here so a guest that missed its solicited RA hears one soon.</summary>
    internal static readonly TimeSpan AdvertiseInterval = TimeSpan.FromSeconds(200);
    /// <summary>AdvDefaultLifetime: 3 × MaxRtrAdvInterval as RFC 4861 §6.2.1 suggests (at most 9000 s).</summary>
    private const ushort RouterLifetime = 600;
    /// <summary>Prefix lifetimes (RFC 4861 §6.2.1 defaults: 30 days valid, 7 days preferred). The
    /// prefix of a network never changes, so the defaults hold.</summary>
    private const uint ValidLifetime = 2_592_000, PreferredLifetime = 604_800;
    /// <summary>RDNSS and DNSSL lifetime: at least 3 × MaxRtrAdvInterval (RFC 8106 §5.1).</summary>
    private const uint DnsLifetime = 600;

    private readonly GuestReplies _replies;
    private readonly GatewayIpv6 _config;
    private readonly ILogger _logger;
    private readonly ITimer _timer;

    /// <param name="time">The clock of the unsolicited advertisements.</param>
    public NeighborDiscovery(GuestReplies replies, GatewayIpv6 config, ILogger logger, TimeProvider time)
    {
        _replies = replies;
        _config = config;
        _logger = logger;
        LinkLocal = Ipv6Address.LinkLocal(replies.Mac);
        // The first unsolicited advertisements come quickly (RFC 4861 §6.2.4), then every interval.
        _timer = time.CreateTimer(static s => ((NeighborDiscovery)s!).AdvertiseToAll(), this, FirstAdvertisement, AdvertiseInterval);
    }

    /// <summary>When the first unsolicited advertisement goes out after the network starts.</summary>
    internal static readonly TimeSpan FirstAdvertisement = TimeSpan.FromSeconds(1);

    public Ipv6Address LinkLocal { get; }
    public Ipv6Address Address => _config.Address;
    public GatewayIpv6 Config => _config;

    public bool IsOurs(Ipv6Address a) => a == _config.Address || a == LinkLocal;

    /// <summary>Whether a multicast destination is one the gateway listens on: all nodes, all
    /// routers, and the solicited-node groups of its addresses (RFC 4291 §2.8).</summary>
    public bool Listens(Ipv6Address group) =>
        group == Ipv6Address.AllNodes || group == Ipv6Address.AllRouters
        || group == _config.Address.SolicitedNode || group == LinkLocal.SolicitedNode;

    /// <summary>A Neighbor Solicitation or Router Solicitation; checked as RFC 4861 §6.1.1 and §7.1.1
    /// say (hop limit 255, code 0, options well formed, no link-layer option from ::).</summary>
    public void Handle(MacAddress sourceMac, in Ipv6Packet ip, in Icmpv6Packet icmp)
    {
        if (ip.HopLimit != 255 || icmp.Code != 0 || !icmp.TryGetNdOptions(out var options) || !options.TryValidate(out var sourceLinkLayer))
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        if (ip.Source.IsUnspecified && sourceLinkLayer is not null) { _replies.Counters.CountDrop(DropReason.Malformed); return; }
        switch (icmp.Type)
        {
            case Icmpv6Packet.TypeNeighborSolicitation:
                if (!icmp.TryGetTarget(out var target) || target.IsMulticast || !IsOurs(target)) return;
                if (ip.Source.IsUnspecified)
                {
                    // Duplicate address detection for one of our addresses (RFC 4862 §5.4.3): we
                    // defend it with an advertisement to all nodes, Solicited clear (RFC 4861 §7.2.4).
                    SendNeighborAdvertisement(Ipv6Address.AllNodes.MulticastMac, Ipv6Address.AllNodes, target, solicited: false);
                    return;
                }
                // Multicast solicitations carry the sender's link-layer option; unicast ones
                // (reachability probes) may not, and then the frame's source MAC is the sender's.
                SendNeighborAdvertisement(sourceLinkLayer ?? sourceMac, ip.Source, target, solicited: true);
                break;
            case Icmpv6Packet.TypeRouterSolicitation:
                // Answered at once and only to the asker (RFC 4861 §6.2.6 allows unicast answers), so a
                // guest flooding solicitations floods itself; from ::, the host has no address yet:
                // to all nodes at the IP layer, still to its MAC.
                SendRouterAdvertisement(sourceLinkLayer ?? sourceMac, ip.Source.IsUnspecified ? Ipv6Address.AllNodes : ip.Source);
                break;
        }
    }

    private void SendNeighborAdvertisement(MacAddress dstMac, Ipv6Address dst, Ipv6Address target, bool solicited)
    {
        var frame = GuestReplies.Frame;
        // The advertisement comes from the address asked about (RFC 4861 §7.2.4 allows any of ours).
        int len = Icmpv6Packet.WriteNeighborAdvertisement(frame[EthernetFrameWriter.Ipv6L4Offset..], target, dst, target, _replies.Mac, solicited);
        int n = EthernetFrameWriter.FinishIpv6(frame, dstMac, _replies.Mac, target, dst, IpProtocol.Icmpv6, len, hopLimit: 255);
        _replies.Send(frame[..n]);
    }

    /// <summary>A Router Advertisement from our link-local address (RFC 4861 §4.2 requires it), with
    /// the router lifetime of the guest at <paramref name="dstMac"/>.</summary>
    internal void SendRouterAdvertisement(MacAddress dstMac, Ipv6Address dst)
    {
        bool defaultRoute = _config.DefaultRouter;
        if (defaultRoute && _config.Guests is { } guests)
            foreach (var (mac, takesDefault) in guests())
                if (mac == dstMac) { defaultRoute = takesDefault; break; }
        SendRouterAdvertisement(dstMac, dst, defaultRoute);
    }

    private void SendRouterAdvertisement(MacAddress dstMac, Ipv6Address dst, bool defaultRoute)
    {
        var frame = GuestReplies.Frame;
        int len = Icmpv6Packet.WriteRouterAdvertisement(frame[EthernetFrameWriter.Ipv6L4Offset..], LinkLocal, dst, _replies.Mac,
            defaultRoute ? RouterLifetime : (ushort)0, _config.Mtu, _config.Prefix, ValidLifetime, PreferredLifetime,
            _config.Address, DnsLifetime, _config.Domain);
        int n = EthernetFrameWriter.FinishIpv6(frame, dstMac, _replies.Mac, LinkLocal, dst, IpProtocol.Icmpv6, len, hopLimit: 255);
        _replies.Send(frame[..n]);
    }

    /// <summary>The periodic advertisement: to each guest's MAC with its own router lifetime, or to
    /// the all-nodes MAC when the network did not say who its guests are.</summary>
    private void AdvertiseToAll()
    {
        try
        {
            if (_config.Guests is not { } guests) { SendRouterAdvertisement(Ipv6Address.AllNodes.MulticastMac, Ipv6Address.AllNodes, _config.DefaultRouter); return; }
            foreach (var (mac, takesDefault) in guests())
                SendRouterAdvertisement(mac, Ipv6Address.AllNodes, _config.DefaultRouter && takesDefault);
        }
        catch (Exception e) when (e is not OutOfMemoryException) { GatewayLog.AdvertiseFailed(_logger, e); }   // a timer callback's exception would end the process
    }

    public void Dispose() => _timer.Dispose();
}
