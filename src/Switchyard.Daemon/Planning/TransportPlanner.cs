using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Planning;

/// <summary>Checks a requested transport without touching the system, so bad requests fail before
/// any state changes, and turns it into what is stored.</summary>
public static class TransportPlanner
{
    public const string DefaultGuestIfname = "eth0";

    public static StoredTransport Normalize(TransportSpec? spec, bool macGiven)
    {
        // JSON null passes the deserializer's required-property check.
        if (spec is null) throw ControlException.Invalid("a transport is required (e.g. {\"kind\": \"tap\", \"netns\": \"NS\"})");
        if (spec.Kind != "tap" && (spec.Netns ?? spec.NetnsPath ?? spec.Ifname) is not null || spec.Configure && spec.Kind != "tap")
            throw ControlException.Invalid("--netns, --netns-path, --tap, --ifname and --configure apply to the tap transport only");
        if (spec.Kind is not ("dgram" or "udp") && spec.Peer is not null) throw ControlException.Invalid("--dgram-peer applies to --dgram-listen only, --udp-peer to --udp-listen");
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
                return new StoredTransport { Kind = TransportKind.Tap, Netns = spec.Netns, NetnsPath = spec.NetnsPath, Ifname = ifname, Configure = spec.Configure, Stream = spec.Stream };
            case "stream":
                if ((spec.Listen is null) == (spec.Connect is null))
                    throw ControlException.Invalid("a stream endpoint needs exactly one of --stream-listen PATH or --stream-connect PATH");
                return new StoredTransport { Kind = TransportKind.Stream, Listen = FullPath(spec.Listen), Connect = FullPath(spec.Connect), Stream = spec.Stream, LearnMac = !macGiven };
            case "dgram":
                if (spec.Listen is null || spec.Connect is not null) throw ControlException.Invalid("a dgram endpoint needs --dgram-listen PATH");
                return new StoredTransport { Kind = TransportKind.Dgram, Listen = FullPath(spec.Listen), Peer = FullPath(spec.Peer), Stream = spec.Stream, LearnMac = !macGiven };
            case "udp":
                if (spec.Listen is null || spec.Connect is not null) throw ControlException.Invalid("a udp endpoint needs --udp-listen [ADDR:]PORT");
                string listen = UdpEndpoints.NormalizeListen(spec.Listen);
                return new StoredTransport { Kind = TransportKind.Udp, Listen = listen, Peer = spec.Peer is null ? null : UdpEndpoints.NormalizePeer(spec.Peer, listen), LearnMac = !macGiven };
            case "fd":
                if (spec.Listen is not null || spec.Connect is not null) throw ControlException.Invalid("an fd endpoint takes no socket path");
                return new StoredTransport { Kind = TransportKind.Fd, Stream = spec.Stream, LearnMac = !macGiven };
            default:
                throw ControlException.Invalid($"unknown transport '{spec.Kind}' (use tap, stream, dgram, udp or fd)");
        }
    }

    /// <summary>The wire form of a stored transport (the view adds the live status).</summary>
    public static TransportSpec ToSpec(StoredTransport t) => new()
    {
        Kind = t.Kind switch { TransportKind.Tap => "tap", TransportKind.Stream => "stream", TransportKind.Dgram => "dgram", TransportKind.Udp => "udp", _ => "fd" },
        Listen = t.Listen, Connect = t.Connect, Peer = t.Peer, Stream = t.Stream, LearnMac = t.LearnMac,
        Netns = t.Netns, NetnsPath = t.NetnsPath, Ifname = t.Ifname, Configure = t.Configure,
    };

    public static string Printable(string s) => new(s.Select(c => char.IsControl(c) ? '?' : c).Take(64).ToArray());

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
}
