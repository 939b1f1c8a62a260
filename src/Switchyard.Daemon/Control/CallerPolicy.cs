using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Nat;
using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

/// <summary>
/// Who may change what (issue 16, finding 6; docs/api.md, "Who may do what"). Root and the daemon's
/// own user may do everything. Anyone else got in through <c>--group</c> and may do what that user
/// could do without the daemon: networks (not bridged to the host's LAN), socket endpoints whose
/// paths are in directories they can write themselves, TAPs only in network namespaces whose user
/// namespace they own (rootless podman's), and published ports from 1024 up on loopback. The same
/// rule answers undoing a thing (detach, unpublish, delete) as doing it: a member may undo only
/// what it could have done. Each refusal is <see cref="ControlError.Forbidden"/> with the reason.
/// </summary>
/// <remarks>Permissions are judged from owner, group and mode bits as the caller's uid and groups
/// (never the daemon's access(2), which answers for root). POSIX ACLs are not consulted: a grant by
/// ACL alone is not honoured, so the rule errs towards refusing.</remarks>
internal sealed class CallerPolicy(uint daemonUid, IAccessFacts facts)
{
    /// <summary>The lowest host port a member may publish: below it are the ports only root may bind (RFC 6335 §6's system ports).</summary>
    public const int FirstUnprivilegedPort = 1024;

    private const uint Read = 4, Write = 2, Execute = 1;

    public uint DaemonUid => daemonUid;

    public bool IsPrivileged(Caller c) => c.Uid == 0 || c.Uid == daemonUid;

    /// <summary>A member may create a network joined over VXLAN (bridged:vxlan), which bridges nothing
    /// of the host's, but its tunnel is held to loopback like a UDP endpoint (<see cref="CheckVxlan"/>).</summary>
    public void CheckCreateNetwork(Caller c, NetworkCreateRequest r)
    {
        if (IsPrivileged(c)) return;
        var mode = ModeSpec.Parse(r.Mode);
        if (mode.Mode == NetworkMode.Bridged && !mode.Vxlan) throw Bridged(c, "create");
        if (r.Vxlan is { } vxlan) CheckVxlan(c, vxlan.Local, vxlan.Peers);
    }

    /// <param name="joinsOverVxlan">The network is bridged:vxlan (bridged, but to no LAN of the host's).</param>
    public void CheckUpdateNetwork(Caller c, NetworkMode current, NetworkUpdateRequest r, bool joinsOverVxlan = false)
    {
        if (IsPrivileged(c)) return;
        if ((current == NetworkMode.Bridged && !joinsOverVxlan) || r.Mode is not null && ModeSpec.Parse(r.Mode) is { Mode: NetworkMode.Bridged, Vxlan: false })
            throw Bridged(c, "change");
        if (r.Vxlan is { AddPeers: { } peers }) CheckVxlan(c, null, peers);
    }

    public void CheckDeleteNetwork(Caller c, NetworkMode mode, bool joinsOverVxlan = false)
    {
        if (IsPrivileged(c)) return;
        if (mode == NetworkMode.Bridged && !joinsOverVxlan) throw Bridged(c, "delete");
    }

    /// <summary>A member's tunnel listens on loopback above the privileged ports and sends only to
    /// loopback peers, as a member's UDP endpoint: VXLAN has no authentication, so a tunnel on
    /// another address would let any host on that network inject frames (RFC 7348 section 7),
    /// and the daemon never sends a network's traffic to another host on a member's word.
    /// <paramref name="local"/> null: the default (loopback, 4789) or, for added peers, the
    /// network's own, which a member's network has on loopback already.</summary>
    private void CheckVxlan(Caller c, string? local, IReadOnlyList<string>? peers)
    {
        if (local is not null)
        {
            var e = VxlanPlanner.ParseAddress(local, "--vxlan-local");
            if (!IsLoopback(e.Address))
                throw Deny(c, $"open a VXLAN tunnel on {e}", "a port on a non-loopback address is open to other hosts, and VXLAN has no authentication; members may listen on 127.0.0.1 or ::1");
            if (e.Port < FirstUnprivilegedPort)
                throw Deny(c, $"open a VXLAN tunnel on {e}", $"ports below {FirstUnprivilegedPort} are the host's privileged ports");
        }
        foreach (var text in peers ?? [])
        {
            var peer = VxlanPlanner.ParseAddress(text, "--vxlan-peer");
            if (!IsLoopback(peer.Address)) throw Deny(c, $"send a network's frames to the VXLAN peer {peer}", "members may tunnel to a loopback peer only");
        }
    }

    /// <summary>An attach request: its transport and every port it publishes.</summary>
    public void CheckAttach(Caller c, EndpointAttachRequest r)
    {
        if (IsPrivileged(c)) return;
        CheckTransport(c, TransportPlanner.Normalize(r.Transport, r.Mac is not null));
        foreach (var spec in r.Publish ?? []) CheckPublish(c, PublishRules.Parse(spec));
    }

    /// <summary>Detaching ends the transport (a TAP in a namespace goes away) and closes its host ports.</summary>
    public void CheckDetach(Caller c, StoredTransport transport, IEnumerable<PublishedPort> published)
    {
        if (IsPrivileged(c)) return;
        CheckTransport(c, transport);
        foreach (var p in published) CheckPublish(c, p);
    }

    public void CheckPublish(Caller c, PublishedPort p)
    {
        if (IsPrivileged(c)) return;
        if (p.HostPort < FirstUnprivilegedPort)
            throw Deny(c, $"publish host port {p.HostPort}", $"ports below {FirstUnprivilegedPort} are the host's privileged ports");
        if (!IsLoopback(p.HostAddress))
            throw Deny(c, $"publish on {p.HostAddress}", "a port on a non-loopback address is open to other hosts; members may publish on 127.0.0.1 or ::1");
    }

    private static bool IsLoopback(IPAddress a) =>
        IPAddress.IsLoopback(a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a);

    private void CheckTransport(Caller c, StoredTransport t)
    {
        switch (t.Kind)
        {
            case TransportKind.Tap when (t.Netns ?? t.NetnsPath) is null:
                throw Deny(c, $"attach the TAP device '{t.Ifname}' in the daemon's network namespace (--tap)", "it is an interface of the host itself");
            case TransportKind.Tap:
                CheckNamespace(c, t.Netns is { } name ? Path.Combine("/run/netns", name) : t.NetnsPath!);
                break;
            case TransportKind.Stream or TransportKind.Dgram:
                if (t.Listen is { } listen) CheckSocketPath(c, listen, replaces: true);
                if (t.Connect is { } connect) CheckSocketPath(c, connect, replaces: false);
                if (t.Peer is { } peer) CheckSocketPath(c, peer, replaces: false);
                break;
            case TransportKind.Fd:
                break;   // a socket pair: no path, nothing of the host's
            case TransportKind.Udp:
                CheckUdp(c, t);
                break;
        }
    }

    /// <summary>A member's UDP endpoint is the member's own business: it listens on loopback above
    /// the privileged ports (as a published port must), and frames go only to a loopback peer, so
    /// the daemon never sends a network's traffic to another host on a member's word.</summary>
    private void CheckUdp(Caller c, StoredTransport t)
    {
        var listen = Planning.UdpEndpoints.Parse(t.Listen!);
        if (!IsLoopback(listen.Address))
            throw Deny(c, $"listen for UDP on {t.Listen}", "a port on a non-loopback address is open to other hosts; members may listen on 127.0.0.1 or ::1");
        if (listen.Port < FirstUnprivilegedPort)
            throw Deny(c, $"listen for UDP on {t.Listen}", $"ports below {FirstUnprivilegedPort} are the host's privileged ports");
        if (t.Peer is { } peer && !IsLoopback(Planning.UdpEndpoints.Parse(peer).Address))
            throw Deny(c, $"send frames to {peer}", "members may send an endpoint's frames to a loopback peer only");
    }

    /// <summary>The caller must own the user namespace that owns the network namespace, or one of
    /// its ancestors (whose owner has every capability over its descendants, user_namespaces(7)).</summary>
    private void CheckNamespace(Caller c, string nsPath)
    {
        var owners = facts.NamespaceOwners(nsPath, out var error)
            ?? throw Deny(c, $"put a TAP in {nsPath}", $"cannot tell whose namespace it is ({error})");
        if (!owners.Contains(c.Uid))
            throw Deny(c, $"put a TAP in {nsPath}",
                $"the namespace belongs to a user namespace of uid {(owners.Count > 0 ? owners[0] : 0)}{(owners is [0] ? " (the host's own)" : "")}, not one of uid {c.Uid}'s");
    }

    /// <summary>The socket's directory must be one the caller could make the socket in itself
    /// (search on every directory above it, write and search on it), judged on the resolved path.
    /// A socket the daemon may replace must be one the caller could remove: in a sticky directory
    /// (/tmp) only its owner or the directory's may. A socket the daemon connects or sends to must
    /// be one the caller could connect to (write permission on the socket, unix(7)).</summary>
    private void CheckSocketPath(Caller c, string path, bool replaces)
    {
        var dir = Path.GetDirectoryName(path) ?? "/";
        var realDir = facts.CanonicalPath(dir) ?? throw ControlException.Invalid($"directory {dir} does not exist");
        var what = $"use the socket path {path}";
        var walked = "/";
        foreach (var part in realDir.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            RequireDirectory(c, walked, Execute, what);
            walked = walked == "/" ? "/" + part : walked + "/" + part;
        }
        var dirOwner = RequireDirectory(c, walked, Write | Execute, what);
        var target = Path.Combine(realDir, Path.GetFileName(path));
        if (facts.Stat(target) is not { } existing) return;
        if (replaces && dirOwner.IsSticky && existing.Uid != c.Uid && dirOwner.Uid != c.Uid)
            throw Deny(c, what, $"it exists, belongs to uid {existing.Uid} and sits in the sticky directory {walked}, where uid {c.Uid} could not remove it");
        if (!replaces)
        {
            // connect(2) and sendto(2) follow a symlink: judge the socket it leads to.
            var real = facts.CanonicalPath(target);
            if (real is null || real != target && !CanReachDirectory(c, Path.GetDirectoryName(real) ?? "/"))
                throw Deny(c, what, $"it leads to {real ?? "nothing"}, which uid {c.Uid} cannot reach");
            if (facts.Stat(real) is not { } socket || !Allows(c, socket, Write))
                throw Deny(c, what, $"uid {c.Uid} may not connect to {real} (no write permission on it)");
        }
    }

    private bool CanReachDirectory(Caller c, string realDir)
    {
        var walked = "/";
        foreach (var part in realDir.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (facts.Stat(walked) is not { } o || !Allows(c, o, Execute)) return false;
            walked = walked == "/" ? "/" + part : walked + "/" + part;
        }
        return facts.Stat(walked) is { } last && Allows(c, last, Execute);
    }

    private FileOwner RequireDirectory(Caller c, string dir, uint need, string what)
    {
        var o = facts.Stat(dir) ?? throw ControlException.Invalid($"directory {dir} does not exist");
        if (!o.IsDirectory) throw ControlException.Invalid($"{dir} is not a directory");
        if (!Allows(c, o, need))
            throw Deny(c, what, need == Execute
                ? $"uid {c.Uid} may not enter {dir} (mode {Mode(o)}, owner {o.Uid}:{o.Gid})"
                : $"uid {c.Uid} may not write to {dir} (mode {Mode(o)}, owner {o.Uid}:{o.Gid})");
        return o;
    }

    /// <summary>The kernel's rule (without ACLs): the owner bits for the owner, else the group bits
    /// for a member of the file's group, else the other bits; the first class that applies decides.</summary>
    internal static bool Allows(Caller c, FileOwner o, uint need)
    {
        uint bits = c.Uid == o.Uid ? o.Mode >> 6 : c.InGroup(o.Gid) ? o.Mode >> 3 : o.Mode;
        return (bits & need) == need;
    }

    private static string Mode(FileOwner o) => Convert.ToString(o.Mode & 0xFFF, 8).PadLeft(4, '0');

    private ControlException Bridged(Caller c, string verb) =>
        Deny(c, $"{verb} a bridged network", "its guests join the host's LAN through a host interface");

    private ControlException Deny(Caller c, string what, string why) =>
        ControlException.Forbidden($"uid {c.Uid} may not {what}: {why}; only root and the daemon's user (uid {daemonUid}) may");
}
