using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Platform;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>Who may do what (issue 16, finding 6), with made-up callers on a made-up host: uid 500
/// runs the daemon; uid 1000 (group 1000, also in group 2000) got in through --group.</summary>
public sealed class CallerPolicyTests
{
    private const uint DaemonUid = 500;
    private static readonly Caller Root = new(0, 0, [], 1);
    private static readonly Caller DaemonUser = new(DaemonUid, 500, [], 2);
    private static readonly Caller Member = new(1000, 1000, [2000], 3);

    private readonly FakeAccessFacts _host = new FakeAccessFacts()
        .Directory("/home", 0, 0, "0755")
        .Directory("/home/u", 1000, 1000, "0700")
        .Directory("/home/u/vms", 1000, 1000, "0755")
        .Directory("/home/other", 1001, 1001, "0700")
        .Directory("/home/other/open", 1000, 1000, "0777")
        .Directory("/root", 0, 0, "0700")
        .Directory("/run", 0, 0, "0755")
        .Directory("/run/netns", 0, 0, "0755")
        .Socket("/run/docker.sock", 0, 0, "0660")
        .Directory("/srv", 0, 0, "0755")
        .Directory("/srv/team", 0, 2000, "0770")
        .Directory("/srv/readonly", 0, 2000, "0750")
        .Directory("/srv/ownerdenied", 1000, 0, "0077")
        .Directory("/tmp", 0, 0, "1777")
        .Socket("/tmp/root.sock", 0, 0, "0777")
        .Socket("/tmp/mine.sock", 1000, 1000, "0755")
        .Socket("/home/u/vms/vm.sock", 1000, 1000, "0755")
        .Symlink("/home/u/rootdir", "/root", 1000)
        .Symlink("/home/u/vms/docker.sock", "/run/docker.sock", 1000)
        .Namespace("/run/netns/hostns", 0)
        .Namespace("/proc/4242/ns/net", 1000, 0)
        .Namespace("/proc/4343/ns/net", 1001, 1000, 0)
        .Namespace("/proc/4444/ns/net", 1001, 0);

    private CallerPolicy Policy => new(DaemonUid, _host);

    private static EndpointAttachRequest Attach(TransportSpec t, params string[] publish) =>
        new() { Name = "vm", Transport = t, Publish = publish.Length > 0 ? publish : null };

    private string Forbidden(Action check) =>
        Assert.Throws<ControlException>(check) is { Kind: ControlError.Forbidden } e ? e.Message : throw new Xunit.Sdk.XunitException("not Forbidden");

    public static TheoryData<string> HostChanges => new()
    {
        "tap-in-daemon-namespace", "tap-in-root-namespace", "bridged", "publish-0.0.0.0:81", "socket-in-root-dir", "replace-root-socket-in-tmp",
    };

    [Theory]
    [MemberData(nameof(HostChanges))]
    public void RootAndTheDaemonsUserMayDoEverything(string change)
    {
        foreach (var c in new[] { Root, DaemonUser }) Act(change, c);
    }

    [Theory]
    [MemberData(nameof(HostChanges))]
    public void AGroupMemberMayNotChangeTheHost(string change)
    {
        var message = Forbidden(() => Act(change, Member));
        Assert.StartsWith("uid 1000 may not ", message);
        Assert.EndsWith("only root and the daemon's user (uid 500) may", message);
    }

    private void Act(string change, Caller c)
    {
        switch (change)
        {
            case "tap-in-daemon-namespace": Policy.CheckAttach(c, Attach(new TransportSpec { Kind = "tap", Ifname = "tap0" })); break;
            case "tap-in-root-namespace": Policy.CheckAttach(c, Attach(new TransportSpec { Kind = "tap", Netns = "hostns" })); break;
            case "bridged": Policy.CheckCreateNetwork(c, new NetworkCreateRequest { Name = "lan", Mode = "bridged:eth0" }); break;
            case "publish-0.0.0.0:81": Policy.CheckPublish(c, PublishRules.Parse("0.0.0.0:81:80")); break;
            case "socket-in-root-dir": Policy.CheckAttach(c, Attach(new TransportSpec { Kind = "dgram", Listen = "/root/vm.sock" })); break;
            case "replace-root-socket-in-tmp": Policy.CheckAttach(c, Attach(new TransportSpec { Kind = "stream", Listen = "/tmp/root.sock" })); break;
        }
    }

    [Fact]
    public void TheTapMessagesSayWhy()
    {
        Assert.Contains("TAP device 'tap0' in the daemon's network namespace (--tap): it is an interface of the host itself",
            Forbidden(() => Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "tap", Ifname = "tap0" }))));
        Assert.Contains("user namespace of uid 0 (the host's own), not one of uid 1000's",
            Forbidden(() => Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "tap", Netns = "hostns" }))));
        Assert.Contains("cannot tell whose namespace it is (open(/proc/1/ns/nope) failed",
            Forbidden(() => Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "tap", NetnsPath = "/proc/1/ns/nope" }))));
    }

    [Theory]
    [InlineData("/proc/4242/ns/net", true)]    // rootless podman: a user namespace uid 1000 made
    [InlineData("/proc/4343/ns/net", true)]    // nested inside one of uid 1000's
    [InlineData("/proc/4444/ns/net", false)]   // another user's
    public void ATapInANamespaceIsAllowedWhenTheCallerOwnsItsUserNamespace(string nsPath, bool allowed)
    {
        var attach = Attach(new TransportSpec { Kind = "tap", NetnsPath = nsPath, Configure = true });
        if (allowed) Policy.CheckAttach(Member, attach);
        else Assert.Contains("user namespace of uid 1001", Forbidden(() => Policy.CheckAttach(Member, attach)));
    }

    [Theory]
    [InlineData("/home/u/vms/new.sock", null)]                 // the caller's own directory
    [InlineData("/home/u/vms/vm.sock", null)]                  // replacing the caller's own socket
    [InlineData("/srv/team/vm.sock", null)]                    // group-writable through a supplementary group
    [InlineData("/tmp/new.sock", null)]                        // a sticky, world-writable directory
    [InlineData("/tmp/mine.sock", null)]                       // the caller's own socket in it
    [InlineData("/root/vm.sock", "may not write to /root (mode 0700, owner 0:0)")]
    [InlineData("/srv/readonly/vm.sock", "may not write to /srv/readonly (mode 0750, owner 0:2000)")]
    [InlineData("/srv/ownerdenied/vm.sock", "may not write to /srv/ownerdenied")]  // the owner class decides, as in the kernel
    [InlineData("/home/other/open/vm.sock", "may not enter /home/other (mode 0700, owner 1001:1001)")]
    [InlineData("/home/u/rootdir/vm.sock", "may not write to /root")]              // judged where the symlink leads
    [InlineData("/tmp/root.sock", "belongs to uid 0 and sits in the sticky directory /tmp")]
    public void ASocketPathMustBeOneTheCallerCouldMake(string path, string? refusal)
    {
        foreach (var t in new[] { new TransportSpec { Kind = "dgram", Listen = path }, new TransportSpec { Kind = "stream", Listen = path } })
        {
            if (refusal is null) Policy.CheckAttach(Member, Attach(t));
            else Assert.Contains(refusal, Forbidden(() => Policy.CheckAttach(Member, Attach(t))));
        }
    }

    [Fact]
    public void ASocketTheDaemonConnectsToMustBeOneTheCallerCouldConnectTo()
    {
        Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "stream", Connect = "/home/u/vms/vm.sock" }));
        Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "dgram", Listen = "/home/u/vms/d.sock", Peer = "/home/u/vms/vm.sock" }));
        // A symlink in the caller's directory to a socket it may not use (connect(2) follows it).
        Assert.Contains("may not connect to /run/docker.sock",
            Forbidden(() => Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "stream", Connect = "/home/u/vms/docker.sock" }))));
        Assert.Contains("may not connect to /run/docker.sock",
            Forbidden(() => Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "dgram", Listen = "/home/u/vms/d.sock", Peer = "/home/u/vms/docker.sock" }))));
    }

    [Fact]
    public void AMissingDirectoryIsABadRequest() =>
        Assert.Equal(ControlError.Invalid, Assert.Throws<ControlException>(() =>
            Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "dgram", Listen = "/nowhere/vm.sock" }))).Kind);

    [Theory]
    [InlineData("127.0.0.1:8080:80", null)]
    [InlineData("8080:80/udp", null)]
    [InlineData("[::1]:18080:80", null)]
    [InlineData("127.0.0.1:1023:80", "publish host port 1023: ports below 1024")]
    [InlineData("0.0.0.0:8080:80", "publish on 0.0.0.0: a port on a non-loopback address")]
    [InlineData("[::]:8080:80", "publish on ::")]
    [InlineData("192.168.1.5:8080:80", "publish on 192.168.1.5")]
    public void AMemberPublishesOnLoopbackFrom1024Up(string spec, string? refusal)
    {
        var endpoint = Attach(new TransportSpec { Kind = "fd" }, spec);
        if (refusal is null)
        {
            Policy.CheckPublish(Member, PublishRules.Parse(spec));
            Policy.CheckAttach(Member, endpoint);
        }
        else
        {
            Assert.Contains(refusal, Forbidden(() => Policy.CheckPublish(Member, PublishRules.Parse(spec))));
            Assert.Contains(refusal, Forbidden(() => Policy.CheckAttach(Member, endpoint)));
        }
    }

    [Fact]
    public void AMemberManagesNetworksThatAreNotBridged()
    {
        foreach (var mode in new[] { null, "nat", "host", "internal" })
            Policy.CheckCreateNetwork(Member, new NetworkCreateRequest { Name = "n", Mode = mode });
        Policy.CheckUpdateNetwork(Member, NetworkMode.Nat, new NetworkUpdateRequest { Mode = "internal" });
        Policy.CheckUpdateNetwork(Member, NetworkMode.Nat, new NetworkUpdateRequest { Egress = new EgressUpdate { Default = "deny" } });
        Policy.CheckDeleteNetwork(Member, NetworkMode.Internal);
        Assert.Contains("create a bridged network: its guests join the host's LAN",
            Forbidden(() => Policy.CheckCreateNetwork(Member, new NetworkCreateRequest { Name = "n", Mode = "bridged" })));
        Forbidden(() => Policy.CheckUpdateNetwork(Member, NetworkMode.Nat, new NetworkUpdateRequest { Mode = "bridged:eth0" }));
        Forbidden(() => Policy.CheckUpdateNetwork(Member, NetworkMode.Bridged, new NetworkUpdateRequest { Mode = "nat" }));
        Forbidden(() => Policy.CheckDeleteNetwork(Member, NetworkMode.Bridged));
    }

    [Fact]
    public void AMemberTunnelsOnLoopbackOnly()
    {
        // Loopback tunnels (the default address too) and a network joined over one are the member's business.
        Policy.CheckCreateNetwork(Member, new NetworkCreateRequest { Name = "n", Vxlan = new VxlanSpec { Vni = 1 } });
        Policy.CheckCreateNetwork(Member, new NetworkCreateRequest { Name = "n", Mode = "bridged:vxlan", Vxlan = new VxlanSpec { Vni = 1, Local = "127.0.0.1:5000", Peers = ["127.0.0.2"] } });
        Policy.CheckUpdateNetwork(Member, NetworkMode.Bridged, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = ["[::1]:4790"] } }, joinsOverVxlan: true);
        Policy.CheckDeleteNetwork(Member, NetworkMode.Bridged, joinsOverVxlan: true);
        // A listener other hosts can reach, a privileged port, or frames sent to another host are not.
        Assert.Contains("VXLAN has no authentication",
            Forbidden(() => Policy.CheckCreateNetwork(Member, new NetworkCreateRequest { Name = "n", Vxlan = new VxlanSpec { Vni = 1, Local = "0.0.0.0" } })));
        Forbidden(() => Policy.CheckCreateNetwork(Member, new NetworkCreateRequest { Name = "n", Vxlan = new VxlanSpec { Vni = 1, Local = "10.0.0.1", Peers = ["10.0.0.2"] } }));
        Assert.Contains("privileged", Forbidden(() => Policy.CheckCreateNetwork(Member, new NetworkCreateRequest { Name = "n", Vxlan = new VxlanSpec { Vni = 1, Local = "127.0.0.1:789" } })));
        Assert.Contains("loopback peer", Forbidden(() => Policy.CheckUpdateNetwork(Member, NetworkMode.Nat, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = ["192.0.2.1"] } })));
        // Root may do all of it.
        Policy.CheckCreateNetwork(Root, new NetworkCreateRequest { Name = "n", Vxlan = new VxlanSpec { Vni = 1, Local = "0.0.0.0", Peers = ["192.0.2.1"] } });
        Policy.CheckUpdateNetwork(Root, NetworkMode.Nat, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = ["192.0.2.1"] } });
    }

    [Fact]
    public void AMemberMayUndoOnlyWhatItCouldHaveDone()
    {
        var own = new StoredTransport { Kind = TransportKind.Dgram, Listen = "/home/u/vms/vm.sock" };
        Policy.CheckDetach(Member, own, [PublishRules.Parse("127.0.0.1:18080:80")]);
        Policy.CheckDetach(Member, new StoredTransport { Kind = TransportKind.Fd }, []);
        Forbidden(() => Policy.CheckDetach(Member, new StoredTransport { Kind = TransportKind.Tap, Ifname = "tap0" }, []));
        Forbidden(() => Policy.CheckDetach(Member, new StoredTransport { Kind = TransportKind.Tap, Netns = "hostns", Ifname = "eth0" }, []));
        Forbidden(() => Policy.CheckDetach(Member, own, [PublishRules.Parse("0.0.0.0:80:80")]));
        Policy.CheckDetach(Root, new StoredTransport { Kind = TransportKind.Tap, Ifname = "tap0" }, [PublishRules.Parse("0.0.0.0:80:80")]);
    }

    [Fact]
    public void AnFdHandoffIsForEveryone() => Policy.CheckAttach(Member, Attach(new TransportSpec { Kind = "fd", Stream = true }));

    [Theory]
    // owner class, group class (primary and supplementary), other class; the first class that applies decides
    [InlineData(1000u, 9u, "0700", 7u, true)]
    [InlineData(1000u, 9u, "0070", 7u, false)]
    [InlineData(7u, 1000u, "0070", 3u, true)]
    [InlineData(7u, 2000u, "0050", 2u, false)]
    [InlineData(7u, 2000u, "0707", 1u, false)]
    [InlineData(7u, 9u, "0001", 1u, true)]
    public void PermissionsAreTheCallersAsTheKernelJudgesThem(uint uid, uint gid, string mode, uint need, bool allowed) =>
        Assert.Equal(allowed, CallerPolicy.Allows(Member, new FileOwner(uid, gid, 0x4000 | Convert.ToUInt32(mode, 8)), need));
}
