using Microsoft.Extensions.Logging;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Nat;
using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network;

// Guests the network has no endpoint for: on a gateway host, those behind a VXLAN tunnel
// (docs/multi-host.md). They lease from the dynamic pool, are known to DNS by their DHCP host
// names, take their own NAT share and egress state, and may send only from their leases (TunnelGuard).
public sealed partial class VirtualNetwork
{
    private TunnelGuard? _tunnelGuard;

    /// <summary>Every network that serves DHCP itself (not bridged) has a pool, silent until it has a
    /// range. Its leases go to the owner to be stored; an address moved or declined takes its NAT flows with it.</summary>
    private DhcpPool? CreatePool(NetworkConfig config, TimeProvider time)
    {
        if (config.Mode == NetworkMode.Bridged) return null;
        var pool = new DhcpPool(config.DhcpRange, config.LeaseTime, time, IsEndpointAddress, IsNetworkName);
        pool.Changed += lease => _events.OnRemoteLeaseChanged(config.Name, lease);
        pool.AddressRetired += address => Nat?.ForgetGuest(address);
        return pool;
    }

    /// <summary>Leases of guests with no endpoint, as stored; nothing when the network has no pool.</summary>
    public void RestoreRemoteLeases(IEnumerable<RemoteLease> leases) => Dhcp.Pool?.Restore(leases);

    /// <summary>The dynamic pool's range now (null: none); endpoint addresses are never chosen from it.</summary>
    public DhcpRange? DhcpRange => Dhcp.Pool?.Range;

    /// <summary>Changes the dynamic pool's range live (see <see cref="DhcpPool.SetRange"/>).</summary>
    public void SetDhcpRange(DhcpRange? range) => Dhcp.Pool?.SetRange(range);

    /// <summary>The guests behind the uplink that hold or held a lease of the pool (API listings).</summary>
    public IReadOnlyCollection<RemoteGuest> RemoteGuests => Dhcp.Pool?.Guests ?? [];

    /// <summary>Pool leases held now (offered or bound, not expired).</summary>
    public int RemoteLeaseCount
    {
        get
        {
            long now = _time.GetUtcNow().UtcTicks;
            return RemoteGuests.Count(g => g.IsBound(now) || (g.State == LeaseState.Offered && g.Expires.UtcTicks > now));
        }
    }

    /// <summary>Forwards a host port to the remote guest <paramref name="mac"/> (a guest behind the
    /// tunnel, known by its pool lease; docs/multi-host.md, "Published ports"): as an endpoint's
    /// published port, through the NAT to the address the guest's lease holds at each new connection,
    /// so a guest that renews, moves or comes back later is followed, and one with no bound lease
    /// (expired, released, not yet leased again) is refused (RST) until it has one. Dispose the
    /// result to unpublish; throws <see cref="PublishException"/> when the host port cannot be had.</summary>
    public IDisposable PublishToRemote(MacAddress mac, PublishedPort spec)
    {
        if (Nat is not { } nat) throw new PublishException($"network '{Name}' is {Config.Mode.ToString().ToLowerInvariant()}: its guests cannot be published");
        return nat.Publish(spec, () => BoundRemoteAddress(mac) is { } address ? new GuestAddress(address, mac) : null);
    }

    /// <summary>The address the remote guest <paramref name="mac"/> may use now (its lease bound and not
    /// expired); null: none.</summary>
    public Ipv4Address? BoundRemoteAddress(MacAddress mac) =>
        RemoteGuestOf(mac) is { } guest && guest.IsBound(_time.GetUtcNow().UtcTicks) ? guest.Address : null;

    private RemoteGuest? RemoteGuestOf(MacAddress mac) => Dhcp.Pool is { } pool && pool.TryGet(mac, out var guest) ? guest : null;

    private bool IsEndpointAddress(Ipv4Address address)
    {
        foreach (var port in _endpoints.Values)
            if (port.Ipv4 == address) return true;
        return false;
    }

    /// <summary>Names the network's DNS already answers: a remote guest asking for one gets no name.</summary>
    private bool IsNetworkName(string host)
    {
        if (host.Equals("gateway", StringComparison.OrdinalIgnoreCase) || host.Equals("host", StringComparison.OrdinalIgnoreCase)) return true;
        if (_endpoints.ContainsKey(host)) return true;
        foreach (var port in _endpoints.Values)
            foreach (var alias in port.Config.Aliases ?? [])
                if (alias.Equals(host, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private bool TryGetRemoteName(Ipv6Prefix prefix, Ipv6Address address, out string host)
    {
        host = "";
        if (Dhcp.Pool is not { } pool) return false;
        foreach (var guest in pool.Guests)
            if (Ipv6Address.Slaac(prefix, guest.Mac) == address) return pool.TryGetName(guest.Address, out host);
        return false;
    }

    /// <summary>A gateway network's uplink (a VXLAN tunnel): one more port on the switch, beside the
    /// gateway's. What comes up through it passes the <see cref="TunnelGuard"/> first, so a frame
    /// whose source is not a remote guest's lease never reaches the gateway's services or a local guest.</summary>
    private void AttachTunnel(IUplinkTransport uplink)
    {
        var port = Uplink = new UplinkPort(uplink);
        var guard = _tunnelGuard = new TunnelGuard(Dhcp.Pool, mac => mac == Config.GatewayMac || _byMac.ContainsKey(mac), _time, Config.Ipv6);
        Switch.AddPort(port);
        uplink.Start((frame, in offload) =>
        {
            if (EthernetFrame.TryParse(frame, out var eth) && !guard.Allows(eth, out var reason))
            {
                port.Counters.CountIn(frame.Length);
                port.Counters.CountDrop(reason);
                return;
            }
            Switch.Forward(port, frame, offload);   // counts it, and drops what does not parse
        });
        NetworkLog.TunnelAttached(_logger, uplink.Interface, Dhcp.Pool?.Range?.ToString() ?? "none");
    }
}
