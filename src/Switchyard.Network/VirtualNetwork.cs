using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Dns;
using Switchyard.Network.Egress;
using Switchyard.Network.Gateway;
using Switchyard.Network.Nat;
using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network;

/// <summary>What a network tells its owner (the daemon persists it).</summary>
public interface INetworkEvents
{
    /// <summary>A lease our DHCP server gave, or (bridged networks) one the LAN's server was seen to give.</summary>
    void OnLeaseChanged(string network, string endpoint, Ipv4Address address, LeaseState state, DateTimeOffset expires);

    /// <summary>A VM that chose its own MAC sent its first frame; called on its receive thread.</summary>
    void OnMacLearned(string network, string endpoint, MacAddress mac);

    /// <summary>A guest declined its address (RFC 2131 §4.4.4: in use on the wire); called on its
    /// receive thread, so it must not block. The owner quarantines the address and, when the subnet
    /// has another, calls <see cref="VirtualNetwork.Reassign"/>; the guest gets no reply to a DECLINE
    /// and starts over with a DISCOVER (§3.1 step 5), which is then offered the new address.</summary>
    void OnAddressDeclined(string network, string endpoint, Ipv4Address declined);

    /// <summary>A lease of the dynamic pool (a guest with no endpoint, behind a tunnel) was bound,
    /// renewed or released, or is gone (<see cref="LeaseState.Declined"/>: declined, or its address
    /// given to another MAC). Called under the pool's lock on a guest's receive thread: enqueue only.</summary>
    void OnRemoteLeaseChanged(string network, RemoteLease lease);
}

/// <summary>One live network: its switch, its gateway (ARP, ICMP, DHCP, DNS) and the ports of
/// its endpoints, built in one readable order. A bridged network has no gateway on its switch
/// (the LAN's router and DHCP server serve its guests) but an <see cref="UplinkPort"/> to the LAN.
/// A gateway network may have an uplink too (a VXLAN tunnel to other hosts): the guests behind it
/// are served from the dynamic pool (VirtualNetwork.Remote.cs).</summary>
public sealed partial class VirtualNetwork : IDhcpBindings, ILocalNames, IDisposable
{
    private readonly ConcurrentDictionary<string, EndpointPort> _endpoints = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<MacAddress, EndpointPort> _byMac = new();
    private readonly INetworkEvents _events;
    private readonly DnsForwarder? _forwarder;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <param name="uplink">A bridged network's way to the LAN, or any network's VXLAN tunnel to other
    /// hosts (null for none, or when it could not be opened at restore: the guests then reach only each
    /// other). On a nat, host or internal network it is a port next to the gateway's, so the gateway
    /// serves the guests behind it too (docs/multi-host.md).</param>
    /// <param name="audit">Where egress decisions are recorded (the daemon's audit log); null: nowhere.</param>
    /// <param name="fds">The daemon's descriptor budget every network's NAT flows take from (null: unlimited).</param>
    /// <param name="time">The clock of every timer in the network (NAT idle times and retransmissions,
    /// DNS timeouts and cache, DHCP leases, egress pins); <see cref="TimeProvider.System"/> by default.</param>
    public VirtualNetwork(NetworkConfig config, INetworkEvents events, ILoggerFactory loggers, IUplinkTransport? uplink = null,
        IEgressAudit? audit = null, TimeProvider? time = null, FdBudget? fds = null)
    {
        Config = config;
        _events = events;
        _time = time ??= TimeProvider.System;
        var logger = _logger = loggers.CreateLogger($"Switchyard.Network.{config.Name}");
        Switch = new EthernetSwitch(config.Mtu);
        var pool = CreatePool(config, time);
        Egress = new EgressGuard(config.Name, mac => _byMac.TryGetValue(mac, out var port) ? port.Egress : RemoteGuestOf(mac)?.Egress, audit, time) { Policy = config.Egress };
        Dhcp = new DhcpServer(new DhcpServerOptions(config.Subnet, config.Gateway, config.Domain, config.Mtu, config.LeaseTime), this, time, pool);
        // An internal network forwards nothing: its DNS answers for its own guests only. A bridged
        // network's gateway is never on its switch, so it has nothing to forward either.
        _forwarder = config.Mode is NetworkMode.Internal or NetworkMode.Bridged ? null : new DnsForwarder(config.DnsUpstreams, new DnsCache(time), logger, time: time);
        Func<MacAddress, FlowShare?> shares = mac => _byMac.TryGetValue(mac, out var port) ? port.Flows : RemoteGuestOf(mac)?.Flows;
        Dns = new DnsServer(config.Domain, config.Subnet, this, _forwarder, Egress, config.Ipv6, shares);
        // IPv6: the gateway is the link's router; a default router only where traffic may leave
        // the link (nat, and host for the host's ::1), so an internal network's guests get none.
        var ipv6 = config.Ipv6 is { } prefix
            ? new GatewayIpv6(prefix, config.Domain, config.Mtu, config.Mode is NetworkMode.Nat or NetworkMode.Host,
                () => _byMac.Select(e => (e.Key, e.Value.DefaultRoute)))
            : null;
        // nat and host networks have a NAT (host loopback, published ports; nat also the outside);
        // it answers guests from the gateway's port, so the gateway builds it on its replies.
        Func<GuestReplies, NatEngine>? nat = config.Mode is NetworkMode.Nat or NetworkMode.Host
            ? replies => new NatEngine(replies, NatPolicy.For(config.Mode, config.HostLoopback), config.Mtu, Egress, logger, time, shares, fds) { MaxFlows = config.MaxFlows }
            : null;
        Gateway = new GatewayPort(Switch, config.GatewayMac, config.Subnet, Dhcp, Dns, logger, time, ipv6, nat);
        // A bridged network's gateway services are off: the LAN's (or the gateway host's) DHCP server
        // and router serve the guests, and a second DHCP server on the same segment would race theirs.
        if (config.Mode != NetworkMode.Bridged)
        {
            Switch.AddPort(Gateway);
            // A gateway host's VXLAN tunnel: a port beside the gateway's, behind its TunnelGuard.
            if (uplink is not null) AttachTunnel(uplink);
        }
        else if (uplink is not null)
        {
            Uplink = new UplinkPort(uplink);
            uplink.SetGuests([]);
            Switch.AddPort(Uplink);
            var port = Uplink;
            uplink.Start((frame, in offload) =>
            {
                // A frame from beyond the uplink that claims a local guest's MAC as its source would
                // move that MAC onto the uplink in the switch's table (AF_PACKET's filter drops these
                // already; a VXLAN tunnel (bridged:vxlan) drops them too, but no uplink is trusted to).
                if (frame.Length < 12 || _byMac.ContainsKey(MacAddress.Read(frame[6..12]))) return;
                SnoopDhcp(frame);
                Switch.Forward(port, frame, offload);
            });
        }
    }

    /// <summary>The port to the LAN (bridged) or to other hosts (a VXLAN tunnel); null without one.</summary>
    public UplinkPort? Uplink { get; private set; }

    /// <summary>A DHCPACK from the LAN pins the guest's IPv4 source address (see <see cref="DhcpSnooping"/>).</summary>
    private void SnoopDhcp(ReadOnlySpan<byte> frame)
    {
        if (!DhcpSnooping.TryReadAck(frame, out var client, out var address, out var leaseTime)) return;
        if (!_byMac.TryGetValue(client, out var port)) return;
        if (port.Ipv4 != address)
        {
            port.Guard!.SetIpv4(address);
            NetworkLog.LeaseSnooped(_logger, port.Name, address.ToString());
        }
        // The owner keeps the LAN's lease, so a restarted daemon knows the guest's address at once.
        var expires = leaseTime == TimeSpan.MaxValue ? DateTimeOffset.MaxValue : _time.GetUtcNow() + leaseTime;
        _events.OnLeaseChanged(Name, port.Name, address, LeaseState.Bound, expires);
    }

    /// <summary>Tells the uplink which MACs are the guests' (after every attach, detach and learnt MAC).</summary>
    private void UpdateUplinkGuests()
    {
        if (Uplink is not { } uplink) return;
        try { uplink.Transport.SetGuests((IReadOnlyCollection<MacAddress>)_byMac.Keys); }
        catch (IOException e) { NetworkLog.SetGuestsFailed(_logger, uplink.Transport.Interface, e); }
    }

    public NetworkConfig Config { get; }
    public string Name => Config.Name;
    public EthernetSwitch Switch { get; }
    public GatewayPort Gateway { get; }
    public DhcpServer Dhcp { get; }
    public DnsServer Dns { get; }
    public DnsForwarder? Forwarder => _forwarder;
    /// <summary>Egress policy enforcement (docs/egress.md); its policy may be replaced at any time, for new flows.</summary>
    public EgressGuard Egress { get; }
    public NatEngine? Nat => Gateway.Nat;
    public IReadOnlyCollection<EndpointPort> Endpoints => (IReadOnlyCollection<EndpointPort>)_endpoints.Values;

    public bool TryGetEndpoint(string name, out EndpointPort port) => _endpoints.TryGetValue(name, out port!);

    /// <summary>Connects a guest: its port joins the switch and its transport starts receiving.</summary>
    public EndpointPort Attach(EndpointConfig endpoint, IFrameTransport transport)
    {
        var port = new EndpointPort(endpoint, transport, mac => mac != Config.GatewayMac && !_byMac.ContainsKey(mac), Config.Ipv6);
        if (!_endpoints.TryAdd(endpoint.Name, port))
            throw new InvalidOperationException($"endpoint '{endpoint.Name}' is already attached to network '{Name}'");
        _byMac[endpoint.Mac] = port;
        Egress.SetGuestPolicy(port.Egress, endpoint.Egress);
        port.Guard!.MacLearned += mac =>
        {
            _byMac.TryRemove(new(endpoint.Mac, port));
            _byMac[mac] = port;
            UpdateUplinkGuests();
            _events.OnMacLearned(Name, port.Name, mac);
        };
        if (Uplink is { } uplink) uplink.Transport.SetGuests((IReadOnlyCollection<MacAddress>)_byMac.Keys);   // a failure fails the attach
        Switch.AddPort(port);
        transport.Start((frame, in offload) => Switch.Forward(port, frame, offload));
        return port;
    }

    /// <summary>Forwards a host port to an endpoint's port (nat and host networks). The endpoint is
    /// looked up on each new connection, so it may be attached later or come back after a detach.
    /// Dispose the result to unpublish; throws <see cref="PublishException"/> when the host port
    /// cannot be had.</summary>
    public IDisposable Publish(string endpoint, PublishedPort spec)
    {
        if (Nat is not { } nat) throw new PublishException($"network '{Name}' is {Config.Mode.ToString().ToLowerInvariant()}: its guests cannot be published");
        return nat.Publish(spec, () => _endpoints.TryGetValue(endpoint, out var port) && !port.Ipv4.IsAny ? new GuestAddress(port.Ipv4, port.Mac) : null);
    }

    /// <summary>Removes a guest's port; the caller disposes the transport.</summary>
    public EndpointPort? Detach(string name)
    {
        if (!_endpoints.TryRemove(name, out var port)) return null;
        _byMac.TryRemove(new(port.Mac, port));
        Egress.Forget(port.Egress);
        Switch.RemovePort(port);
        UpdateUplinkGuests();
        Nat?.ForgetGuest(port.Ipv4);
        if (Config.Ipv6 is { } prefix) Nat?.ForgetGuest(Ipv6Address.Slaac(prefix, port.Mac));
        return port;
    }

    bool IDhcpBindings.TryGetBinding(MacAddress client, out DhcpBinding binding)
    {
        if (_byMac.TryGetValue(client, out var port)) { binding = new DhcpBinding(port.Name, port.Ipv4, port.DefaultRoute); return true; }
        binding = default;
        return false;
    }

    /// <summary>Tells the owner, which picks the replacement off this thread (see
    /// <see cref="INetworkEvents.OnAddressDeclined"/>): there is none yet.</summary>
    bool IDhcpBindings.TryReassign(MacAddress client, Ipv4Address declined, out Ipv4Address replacement)
    {
        replacement = default;
        if (_byMac.TryGetValue(client, out var port)) _events.OnAddressDeclined(Name, port.Name, declined);
        return false;
    }

    /// <summary>Moves an endpoint to another IPv4 address (after it declined its own): its guard
    /// lets the new source address through, and DHCP offers it at the guest's next DISCOVER.</summary>
    public bool Reassign(string endpoint, Ipv4Address next)
    {
        if (!_endpoints.TryGetValue(endpoint, out var port)) return false;
        port.Guard!.SetIpv4(next);
        return true;
    }

    void IDhcpBindings.OnLeaseChanged(MacAddress client, Ipv4Address address, LeaseState state, DateTimeOffset expires)
    {
        if (_byMac.TryGetValue(client, out var port)) _events.OnLeaseChanged(Name, port.Name, address, state, expires);
    }

    bool ILocalNames.TryGetAddress(string host, out Ipv4Address address)
    {
        if (host.Equals("gateway", StringComparison.OrdinalIgnoreCase)) { address = Config.Gateway; return true; }
        // host.DOMAIN: the host's loopback, through the gateway (like gvproxy's host.containers.internal).
        if (host.Equals("host", StringComparison.OrdinalIgnoreCase) && Nat is { Policy.HostLoopback: true }) { address = Config.Gateway; return true; }
        if (_endpoints.TryGetValue(host, out var port)) { address = port.Ipv4; return true; }
        foreach (var other in _endpoints.Values)
            foreach (var alias in other.Config.Aliases ?? [])
                if (alias.Equals(host, StringComparison.OrdinalIgnoreCase)) { address = other.Ipv4; return true; }
        if (Dhcp.Pool is { } pool && pool.TryGetAddress(host, out var remote)) { address = remote.Address; return true; }
        address = default;
        return false;
    }

    bool ILocalNames.TryGetAddress(string host, out Ipv6Address address)
    {
        address = default;
        if (Config.Ipv6 is not { } prefix) return false;
        if (host.Equals("gateway", StringComparison.OrdinalIgnoreCase)
            || (host.Equals("host", StringComparison.OrdinalIgnoreCase) && Nat is { Policy.HostLoopback: true }))
        {
            address = prefix.FirstHost;
            return true;
        }
        if (_endpoints.TryGetValue(host, out var port)) { address = Ipv6Address.Slaac(prefix, port.Mac); return true; }
        if (Dhcp.Pool is { } pool && pool.TryGetAddress(host, out var remote)) { address = Ipv6Address.Slaac(prefix, remote.Mac); return true; }
        return false;
    }

    bool ILocalNames.TryGetName(Ipv6Address address, out string host)
    {
        host = "";
        if (Config.Ipv6 is not { } prefix) return false;
        if (address == prefix.FirstHost) { host = "gateway"; return true; }
        foreach (var port in _endpoints.Values)
            if (Ipv6Address.Slaac(prefix, port.Mac) == address) { host = port.Name; return true; }
        return TryGetRemoteName(prefix, address, out host);
    }

    bool ILocalNames.TryGetName(Ipv4Address address, out string host)
    {
        if (address == Config.Gateway) { host = "gateway"; return true; }
        foreach (var port in _endpoints.Values)
            if (port.Ipv4 == address) { host = port.Name; return true; }
        if (Dhcp.Pool is { } pool) return pool.TryGetName(address, out host);
        host = "";
        return false;
    }

    public void Dispose()
    {
        foreach (var name in _endpoints.Keys)
            Detach(name)?.Transport.Dispose();
        Nat?.Dispose();
        Gateway.Dispose();
        _forwarder?.Dispose();
        if (Uplink is { } uplink)
        {
            Switch.RemovePort(uplink);
            uplink.Transport.Dispose();
        }
    }
}

/// <summary>What a <see cref="VirtualNetwork"/> itself logs (its bridged uplink's guests and snooped leases).</summary>
internal static partial class NetworkLog
{
    [LoggerMessage(EventId = LogEvents.LeaseSnooped, Level = LogLevel.Information, Message = "Bridged endpoint {Endpoint} got {Address} from the LAN's DHCP server")]
    public static partial void LeaseSnooped(ILogger logger, string endpoint, string address);

    [LoggerMessage(EventId = LogEvents.TunnelGuestsServed, Level = LogLevel.Information, Message = "Guests behind uplink {Interface} are served by the gateway; dynamic pool {Range}")]
    public static partial void TunnelAttached(ILogger logger, string @interface, string range);

    [LoggerMessage(EventId = LogEvents.UplinkGuestsFailed, Level = LogLevel.Error, Message = "Updating the guest MACs of uplink {Interface} failed")]
    public static partial void SetGuestsFailed(ILogger logger, string @interface, Exception error);
}
