using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>The two-hosts harness itself (<see cref="TwoHosts"/>), so a multi-host test that fails says
/// something about the tunnel, not about the test's machinery.</summary>
public sealed class TwoHostsTests
{
    /// <summary>Host B's daemon lives in its own namespace (its interfaces are that namespace's: loopback and the
    /// underlay's end with B's address, none of the machine's), the underlay carries traffic both ways at MTU
    /// 1500, B's daemon restarts on the same state, and disposal leaves neither the veth nor the namespace.</summary>
    [LinuxRootFact]
    public async Task Host_B_runs_in_its_own_namespace_behind_the_underlay()
    {
        string underlay, hostB;
        await using (var hosts = await TwoHosts.StartAsync())
        {
            underlay = hosts.UnderlayInterface;
            hostB = hosts.HostB.Name;
            var interfaces = await hosts.B.Client.ListInterfacesAsync();
            Assert.Equal(["eth0", "lo"], interfaces.Select(i => i.Name).Order().ToArray());
            var eth0 = interfaces.Single(i => i.Name == "eth0");
            Assert.Contains(eth0.Addresses, a => a.StartsWith(hosts.AddressB + "/", StringComparison.Ordinal));
            Assert.Equal(1500, eth0.Mtu);
            Assert.Contains(await hosts.A.Client.ListInterfacesAsync(), i => i.Name == hosts.UnderlayInterface);

            Assert.Equal(0, Command.Run("ping", Ping.ExpectingReplies(hosts.AddressB, 2), check: false, timeoutMs: 30_000).ExitCode);
            Assert.Equal(0, hosts.HostB.Exec("ping", Ping.ExpectingReplies(hosts.AddressA, 2)).ExitCode);

            hosts.CliB.Run("network", "create", "keep", "--mode", "internal", "--subnet", "10.248.0.0/24");
            int pid = hosts.B.Pid;
            await hosts.B.RestartAsync();
            Assert.NotEqual(pid, hosts.B.Pid);
            Assert.Contains(await hosts.B.Client.ListNetworksAsync(), n => n.Name == "keep");
            Assert.DoesNotContain(await hosts.A.Client.ListNetworksAsync(), n => n.Name == "keep");
        }
        Assert.NotEqual(0, Command.Run("ip", ["link", "show", underlay], check: false).ExitCode);
        Assert.DoesNotContain(hostB, Command.Run("ip", ["netns", "list"]).StdOut);
    }
}
