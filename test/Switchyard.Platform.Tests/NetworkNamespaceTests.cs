using System.Runtime.Versioning;
using Switchyard.Testing;

namespace Switchyard.Platform.Tests;

[SupportedOSPlatform("linux")]
public sealed class NetworkNamespaceTests
{
    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    public void PathForName_RejectsUnsafeNames(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() => NetworkNamespace.PathForName(name));
    }

    [Fact]
    public void PathForName_IsUnderRunNetns()
    {
        Assert.Equal("/run/netns/guest1", NetworkNamespace.PathForName("guest1"));
    }

    [LinuxRootFact]
    public void Exists_TracksNamespaceLifetime()
    {
        string path;
        using (var ns = TestNamespace.Create())
        {
            path = NetworkNamespace.PathForName(ns.Name);
            Assert.True(NetworkNamespace.Exists(path));
        }
        Assert.False(NetworkNamespace.Exists(path));
    }

    [LinuxRootFact]
    public void WriteResolvConf_IsSeenByIpNetnsExec()
    {
        using var ns = TestNamespace.Create();
        const string content = "nameserver 10.238.0.3\nsearch switchyard.test\n";
        var etcNetnsExisted = Directory.Exists(NetworkNamespace.EtcDirectory);
        try
        {
            NetworkNamespace.WriteResolvConf(ns.Name, content);

            Assert.Equal(content, ns.Exec("cat", "/etc/resolv.conf").StdOut);
        }
        finally
        {
            ns.Dispose(); // removes /etc/netns/NAME
            // Leave the host as found: drop /etc/netns only if this test created it and nothing else uses it.
            if (!etcNetnsExisted && Directory.Exists(NetworkNamespace.EtcDirectory) &&
                !Directory.EnumerateFileSystemEntries(NetworkNamespace.EtcDirectory).Any())
            {
                Directory.Delete(NetworkNamespace.EtcDirectory);
            }
        }
    }
}
