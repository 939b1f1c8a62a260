using System.Net.Sockets;
using Switchyard.Testing;

namespace Switchyard.Platform.Tests;

/// <summary>The native reads behind the API's caller rules: peer credentials, file owners (statx's
/// fixed layout) and namespace owners (the nsfs ioctls), checked against what the kernel says.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CallerCredentialsTests
{
    [LinuxRootFact]
    public void The_peer_of_a_socket_pair_is_this_process()
    {
        var (ours, theirs) = FdPassing.CreatePair(SocketType.Stream);
        using var _ = theirs;
        using (ours)
        {
            var peer = PeerCredentials.Read(ours);
            Assert.Equal(Environment.ProcessId, peer.Pid);
            Assert.Equal(ProcessIdentity.EffectiveUserId, peer.Uid);
            var status = File.ReadAllLines("/proc/self/status");
            uint gid = uint.Parse(status.First(l => l.StartsWith("Gid:")).Split('\t', StringSplitOptions.RemoveEmptyEntries)[2]);
            Assert.Equal(gid, peer.Gid);
            var groups = status.First(l => l.StartsWith("Groups:"))["Groups:".Length..]
                .Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).Order();
            Assert.Equal(groups, peer.Groups.Order());
        }
    }

    [LinuxRootFact]
    public void A_files_owner_group_and_mode_are_read_as_the_kernel_has_them()
    {
        var dir = Directory.CreateTempSubdirectory("sy-owner-").FullName;
        try
        {
            var file = Path.Combine(dir, "f");
            File.WriteAllText(file, "");
            Command.Run("chown", ["2100000123:2100000456", file]);
            Command.Run("chmod", ["1750", dir]);
            var f = FileOwner.Of(file, followSymlink: false)!.Value;
            Assert.Equal((2100000123u, 2100000456u), (f.Uid, f.Gid));
            Assert.False(f.IsDirectory);
            var d = FileOwner.Of(dir, followSymlink: false)!.Value;
            Assert.True(d.IsDirectory && d.IsSticky);
            Assert.Equal(Convert.ToUInt32("1750", 8), d.Mode & 0xFFF);
            File.CreateSymbolicLink(Path.Combine(dir, "link"), file);
            Assert.True(FileOwner.Of(Path.Combine(dir, "link"), followSymlink: false)!.Value.IsSymlink);
            Assert.Equal(file, FileOwner.CanonicalPath(Path.Combine(dir, ".", "link")));
            Assert.Null(FileOwner.Of(Path.Combine(dir, "missing"), followSymlink: false));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [LinuxRootFact]
    public void A_namespace_of_a_user_namespace_made_by_another_uid_names_that_uid_first()
    {
        Assert.Equal([0u], NamespaceOwners.Of("/proc/self/ns/net"));
        using var child = ChildProcess.Start("setpriv", ["--reuid=2100000789", "--regid=2100000789", "--clear-groups", "--",
            "unshare", "--user", "--map-root-user", "--net", "sleep", "30"]);
        var ours = new FileInfo("/proc/self/ns/net").LinkTarget;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (new FileInfo($"/proc/{child.Pid}/ns/net").LinkTarget == ours && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Equal([2100000789u, 0u], NamespaceOwners.Of($"/proc/{child.Pid}/ns/net"));
        Assert.Throws<PlatformException>(() => NamespaceOwners.Of("/etc/hostname"));
    }
}
