using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Transports;
using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

/// <summary>Turns an endpoint's <see cref="StoredTransport"/> (checked by <see cref="Planning.TransportPlanner"/>) into a live transport.</summary>
internal sealed class TransportFactory(ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("Switchyard.Transports");

    public IFrameTransport Create(StoredTransport spec, EndpointConfig endpoint, NetworkConfig network, bool restoring)
    {
        // Socket transports carry plain frames: at most the MTU plus Ethernet and one VLAN tag.
        int maxFrame = network.Mtu + 18;
        try
        {
            switch (spec.Kind)
            {
                case TransportKind.Stream when spec.Listen is not null: return StreamTransport.Listen(spec.Listen, maxFrame, _logger);
                case TransportKind.Stream: return StreamTransport.Connect(spec.Connect!, maxFrame, _logger);
                case TransportKind.Dgram: return DgramTransport.Listen(spec.Listen!, spec.Peer, maxFrame, _logger);
                case TransportKind.Udp:
                    return UdpTransport.Listen(UdpEndpoints.Parse(spec.Listen!), spec.Peer is { } peer ? UdpEndpoints.Parse(peer) : null, maxFrame, _logger);
                case TransportKind.Fd: throw ControlException.Unavailable(restoring, "an fd endpoint is made by the fd handoff (yard connect); its socket pair does not outlive the daemon");
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            throw ControlException.Unavailable(restoring, $"cannot listen on {spec.Listen}: {e.Message}");
        }
        if (!OperatingSystem.IsLinux())
            throw ControlException.Invalid("the tap transport needs Linux (TAP devices and network namespaces); attach VMs with stream or dgram here");
        return CreateTap(spec, endpoint, network, restoring);
    }

    /// <summary>The daemon's end of a socket pair, as the fd handoff makes it.</summary>
    public IFrameTransport FromSocketPair(System.Net.Sockets.Socket ours, bool stream, NetworkConfig network) =>
        stream ? StreamTransport.FromSocket(ours, network.Mtu + 18, _logger) : DgramTransport.FromSocket(ours, network.Mtu + 18, _logger);

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private TapTransport CreateTap(StoredTransport spec, EndpointConfig endpoint, NetworkConfig network, bool restoring)
    {
        string? nsPath = spec.Netns is { } name ? NetworkNamespace.PathForName(name) : spec.NetnsPath;
        if (nsPath is not null && !NetworkNamespace.Exists(nsPath))
            throw ControlException.Invalid(spec.Netns is not null
                ? $"network namespace '{spec.Netns}' does not exist ({nsPath}); create it with 'ip netns add {spec.Netns}'"
                : $"network namespace path '{nsPath}' does not exist");
        Span<byte> mac = stackalloc byte[6];
        endpoint.Mac.Write(mac);
        Ipv4Config? configure = null;
        if (spec.Configure)
        {
            var addr = new byte[4];
            endpoint.Ipv4.Write(addr);
            byte[]? gw = null;
            if (endpoint.DefaultRoute)
            {
                gw = new byte[4];
                network.Gateway.Write(gw);
            }
            configure = new Ipv4Config(addr, network.Subnet.PrefixLength, gw);
        }
        // A guest's TAP is persistent, so a daemon restart re-attaches to it and the guest keeps
        // its configuration; detach clears the flag and the device goes away with our fd.
        // IFF_VNET_HDR with checksum and segmentation offload: the guest hands over 64 KiB TCP
        // jobs instead of MTU-sized frames, which is what makes guest-to-guest traffic fast
        // (see docs/performance.md); ports that cannot take them get segmented frames.
        // --configure on an IPv6 network: the guest forms the EUI-64 addresses anti-spoofing allows.
        var options = new TapOptions(spec.Ifname!, nsPath, mac.ToArray(), network.Mtu, Persistent: nsPath is not null, configure, VnetHeader: true,
            Eui64Slaac: spec.Configure && network.Ipv6 is not null);
        TapDevice device;
        try { device = TapDevice.Create(options); }
        catch (PlatformException e) { throw ControlException.Unavailable(restoring, $"cannot create TAP device '{spec.Ifname}': {e.Message}"); }
        return new TapTransport(device, network.Mtu + 18, _logger);
    }

    /// <summary>Ends a transport for good (detach): a guest namespace's TAP, which the daemon made
    /// persistent, is made non-persistent first so it goes away. A TAP in the daemon's own
    /// namespace (--tap) is left as it was: an administrator may have made it, persistent.</summary>
    public static void Destroy(IFrameTransport transport, StoredTransport spec)
    {
        if (OperatingSystem.IsLinux() && transport is TapTransport tap && (spec.Netns ?? spec.NetnsPath) is not null)
        {
            try { tap.Device.SetPersistent(false); }
            catch (PlatformException) { /* the namespace may be gone already, taking the device with it */ }
        }
        transport.Dispose();
    }
}
