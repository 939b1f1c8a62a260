using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Api;
using Switchyard.Network;
using Switchyard.Network.Transports;
using Switchyard.Platform;

namespace Switchyard.Daemon.Networks;

/// <summary>Turns an endpoint's <see cref="TransportSpec"/> into a live transport.</summary>
internal sealed class TransportFactory(ILoggerFactory loggers)
{
    public const string DefaultGuestIfname = "eth0";
    private readonly ILogger _logger = loggers.CreateLogger("Switchyard.Transports");

    /// <summary>Checks a spec without touching the system, so bad requests fail before any state changes.</summary>
    public static TransportSpec Normalize(TransportSpec? spec)
    {
        // JSON null passes the deserializer's required-property check.
        if (spec is null) throw ApiException.BadRequest("a transport is required (e.g. {\"kind\": \"tap\", \"netns\": \"NS\"})");
        switch (spec.Kind)
        {
            case "tap":
                int targets = (spec.Netns is null ? 0 : 1) + (spec.NetnsPath is null ? 0 : 1);
                if (targets > 1) throw ApiException.BadRequest("give either a namespace name or a namespace path, not both");
                if (targets == 0 && string.IsNullOrEmpty(spec.Ifname))
                    throw ApiException.BadRequest("a tap endpoint needs a namespace (--netns, --netns-path) or a TAP device name (--tap)");
                if (targets == 0 && spec.Configure)
                    throw ApiException.BadRequest("--configure applies to a namespace (--netns or --netns-path), not to a TAP device in the daemon's namespace");
                string ifname = spec.Ifname ?? DefaultGuestIfname;
                if (ifname.Length is 0 or > 15 || ifname.IndexOfAny(['/', ':', '%', ' ']) >= 0)
                    throw ApiException.BadRequest($"invalid interface name '{ifname}': 1-15 characters, no '/', ':', '%' or spaces");
                if (spec.Netns is { } ns && (ns.Length == 0 || ns.Contains('/') || ns is "." or ".."))
                    throw ApiException.BadRequest($"invalid namespace name '{ns}'");
                return spec with { Ifname = ifname };
            default:
                throw ApiException.BadRequest($"unknown transport '{spec.Kind}' (this daemon supports: tap)");
        }
    }

    public IFrameTransport Create(TransportSpec spec, EndpointConfig endpoint, NetworkConfig network, bool restoring)
    {
        if (spec.Kind != "tap") throw ApiException.BadRequest($"unknown transport '{spec.Kind}'");
        if (!OperatingSystem.IsLinux())
            throw ApiException.BadRequest("the tap transport needs Linux (TAP devices and network namespaces)");
        return CreateTap(spec, endpoint, network, restoring);
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private TapTransport CreateTap(TransportSpec spec, EndpointConfig endpoint, NetworkConfig network, bool restoring)
    {
        string? nsPath = spec.Netns is { } name ? NetworkNamespace.PathForName(name) : spec.NetnsPath;
        if (nsPath is not null && !NetworkNamespace.Exists(nsPath))
            throw ApiException.BadRequest(spec.Netns is not null
                ? $"network namespace '{spec.Netns}' does not exist ({nsPath}); create it with 'ip netns add {spec.Netns}'"
                : $"network namespace path '{nsPath}' does not exist");
        Span<byte> mac = stackalloc byte[6];
        endpoint.Mac.Write(mac);
        Ipv4Config? configure = null;
        if (spec.Configure)
        {
            var addr = new byte[4];
            var gw = new byte[4];
            endpoint.Ipv4.Write(addr);
            network.Gateway.Write(gw);
            configure = new Ipv4Config(addr, network.Subnet.PrefixLength, gw);
        }
        // A guest's TAP is persistent, so a daemon restart re-attaches to it and the guest keeps
        // its configuration; detach clears the flag and the device goes away with our fd.
        // IFF_VNET_HDR with checksum and segmentation offload: the guest hands over 64 KiB TCP
        // jobs instead of MTU-sized frames, which is what makes guest-to-guest traffic fast
        // (see docs/performance.md); ports that cannot take them get segmented frames.
        var options = new TapOptions(spec.Ifname!, nsPath, mac.ToArray(), network.Mtu, Persistent: nsPath is not null, configure, VnetHeader: true);
        TapDevice device;
        try { device = TapDevice.Create(options); }
        catch (PlatformException e) { throw new ApiException(restoring ? 500 : 400, $"cannot create TAP device '{spec.Ifname}': {e.Message}"); }
        return new TapTransport(device, network.Mtu + 18, _logger);
    }

    /// <summary>Ends a transport for good (detach): a persistent TAP is made non-persistent first.</summary>
    public static void Destroy(IFrameTransport transport)
    {
        if (OperatingSystem.IsLinux() && transport is TapTransport tap)
        {
            try { tap.Device.SetPersistent(false); }
            catch (PlatformException) { /* the namespace may be gone already, taking the device with it */ }
        }
        transport.Dispose();
    }
}
