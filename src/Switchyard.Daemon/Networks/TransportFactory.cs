using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Control;
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
    public static TransportSpec Normalize(TransportSpec? spec, bool macGiven)
    {
        // JSON null passes the deserializer's required-property check.
        if (spec is null) throw ControlException.Invalid("a transport is required (e.g. {\"kind\": \"tap\", \"netns\": \"NS\"})");
        spec = spec with { State = null, Connects = null, ProtocolErrors = null, LastError = null };
        if (spec.Kind != "tap" && (spec.Netns ?? spec.NetnsPath ?? spec.Ifname) is not null || spec.Configure && spec.Kind != "tap")
            throw ControlException.Invalid("--netns, --netns-path, --tap, --ifname and --configure apply to the tap transport only");
        if (spec.Kind != "dgram" && spec.Peer is not null) throw ControlException.Invalid("--dgram-peer applies to --dgram-listen only");
        switch (spec.Kind)
        {
            case "tap":
                int targets = (spec.Netns is null ? 0 : 1) + (spec.NetnsPath is null ? 0 : 1);
                if (targets > 1) throw ControlException.Invalid("give either a namespace name or a namespace path, not both");
                if (targets == 0 && string.IsNullOrEmpty(spec.Ifname))
                    throw ControlException.Invalid("a tap endpoint needs a namespace (--netns, --netns-path) or a TAP device name (--tap)");
                if (targets == 0 && spec.Configure)
                    throw ControlException.Invalid("--configure applies to a namespace (--netns or --netns-path), not to a TAP device in the daemon's namespace");
                string ifname = spec.Ifname ?? DefaultGuestIfname;
                // IFNAMSIZ: 15 bytes; printable ASCII only (the kernel would take other bytes, our logs should not).
                if (ifname.Length is 0 or > 15 || ifname.Any(c => c <= ' ' || c > '~') || ifname.IndexOfAny(['/', ':', '%']) >= 0)
                    throw ControlException.Invalid($"invalid interface name '{Printable(ifname)}': 1-15 printable ASCII characters, no '/', ':', '%' or spaces");
                if (spec.Netns is { } ns && (ns.Length is 0 or > 255 || ns.Contains('/') || ns is "." or ".." || ns.Any(char.IsControl)))
                    throw ControlException.Invalid($"invalid namespace name '{Printable(ns)}'");
                if (spec.NetnsPath is { } nsPath && (nsPath.Length is 0 or > 4096 || nsPath.Any(char.IsControl)))
                    throw ControlException.Invalid("invalid namespace path");
                if (spec.Listen is not null || spec.Connect is not null) throw ControlException.Invalid("a tap endpoint takes no socket path");
                return spec with { Ifname = ifname, LearnMac = false };
            case "stream":
                if ((spec.Listen is null) == (spec.Connect is null))
                    throw ControlException.Invalid("a stream endpoint needs exactly one of --stream-listen PATH or --stream-connect PATH");
                return spec with { Listen = FullPath(spec.Listen), Connect = FullPath(spec.Connect), LearnMac = !macGiven };
            case "dgram":
                if (spec.Listen is null || spec.Connect is not null) throw ControlException.Invalid("a dgram endpoint needs --dgram-listen PATH");
                return spec with { Listen = FullPath(spec.Listen), Peer = FullPath(spec.Peer), LearnMac = !macGiven };
            case "fd":
                if (spec.Listen is not null || spec.Connect is not null) throw ControlException.Invalid("an fd endpoint takes no socket path");
                return spec with { LearnMac = !macGiven };
            default:
                throw ControlException.Invalid($"unknown transport '{spec.Kind}' (use tap, stream, dgram or fd)");
        }
    }

    private static string Printable(string s) => new(s.Select(c => char.IsControl(c) ? '?' : c).Take(64).ToArray());

    private static string? FullPath(string? path)
    {
        if (path is null) return null;
        if (path.Length == 0) throw ControlException.Invalid("a socket path must not be empty");
        if (path.Any(char.IsControl)) throw ControlException.Invalid("a socket path must not contain control characters");
        var full = Path.GetFullPath(path);
        // sockaddr_un.sun_path: 108 bytes on Linux, 104 on macOS, including the terminating NUL.
        if (System.Text.Encoding.UTF8.GetByteCount(full) > 103) throw ControlException.Invalid($"socket path {full} is too long (unix sockets allow 103 bytes)");
        return full;
    }

    public IFrameTransport Create(TransportSpec spec, EndpointConfig endpoint, NetworkConfig network, bool restoring)
    {
        // Socket transports carry plain frames: at most the MTU plus Ethernet and one VLAN tag.
        int maxFrame = network.Mtu + 18;
        try
        {
            switch (spec.Kind)
            {
                case "stream" when spec.Listen is not null: return StreamTransport.Listen(spec.Listen, maxFrame, _logger);
                case "stream": return StreamTransport.Connect(spec.Connect!, maxFrame, _logger);
                case "dgram": return DgramTransport.Listen(spec.Listen!, spec.Peer, maxFrame, _logger);
                case "fd": throw ControlException.Unavailable(restoring, "an fd endpoint is made by the fd handoff (yard connect); its socket pair does not outlive the daemon");
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
    private TapTransport CreateTap(TransportSpec spec, EndpointConfig endpoint, NetworkConfig network, bool restoring)
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
    public static void Destroy(IFrameTransport transport, TransportSpec spec)
    {
        if (OperatingSystem.IsLinux() && transport is TapTransport tap && (spec.Netns ?? spec.NetnsPath) is not null)
        {
            try { tap.Device.SetPersistent(false); }
            catch (PlatformException) { /* the namespace may be gone already, taking the device with it */ }
        }
        transport.Dispose();
    }
}
