using System.Diagnostics;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>The host's resolver file (<c>--resolv-conf</c>) changing under a running daemon, as a
/// VPN client changes /etc/resolv.conf: guests of networks that follow it are answered by the new
/// resolver within about a second, with no restart and no stale answer from the old one's cache.
/// The resolvers are dnsmasq on port 53 of loopback addresses of their own (a nameserver line
/// cannot name a port); the file is a temporary one, never the host's.</summary>
public sealed class ResolverChangeTests
{
    // The change is seen within about a second (a file event, else the next read); each try runs dig in the
    // guest. The bound is generous so that a loaded machine cannot fail the test; the loop ends at the change.
    private static readonly TimeSpan Deadline = Bounds.Generous;

    [LinuxRootFact]
    public async Task A_rewritten_resolver_file_answers_the_next_lookup_without_a_restart()
    {
        using var first = TestDnsmasq.StartOnPort53("198.51.100.11");
        using var second = TestDnsmasq.StartOnPort53("198.51.100.22");
        var dir = Directory.CreateTempSubdirectory("sy-resolv-");
        try
        {
            string resolv = Path.Combine(dir.FullName, "resolv.conf");
            File.WriteAllText(resolv, $"nameserver {first.ListenAddress}\n");
            await using var daemon = await TestDaemon.StartAsync(resolv);
            var follows = await daemon.CreateNetworkAsync([]);
            var pinned = await daemon.CreateNetworkAsync([first.Endpoint]);
            Assert.Equal([$"{first.ListenAddress}:53"], follows.EffectiveDnsUpstreams);
            using var guest = await Guest.AttachAsync(daemon.Client, follows.Name, "alpha");
            guest.Dhcp();

            // Answer 1, now in the network's cache for 60 s.
            Assert.Equal(first.Answer, guest.Dig($"@{follows.Gateway}", TestDnsmasq.Name, "+short"));

            File.WriteAllText(resolv, $"# rewritten by a VPN client\nnameserver {second.ListenAddress}\n");
            var sw = Stopwatch.StartNew();
            string answer;
            while ((answer = guest.Dig($"@{follows.Gateway}", TestDnsmasq.Name, "+short")) != second.Answer)
            {
                Assert.True(sw.Elapsed < Deadline, $"after {sw.Elapsed} the guest still gets '{answer}', not the new resolver's {second.Answer}");
                Assert.Equal(first.Answer, answer); // the old answer until the change, never anything else
                await Task.Delay(50);
            }
            // And from now on only the new one (the old resolver still runs: no failover hides a stale cache).
            Assert.Equal(second.Answer, guest.Dig($"@{follows.Gateway}", TestDnsmasq.Name, "+short"));
            Assert.Equal([$"{second.ListenAddress}:53"], (await daemon.Client.GetNetworkAsync(follows.Name)).EffectiveDnsUpstreams);
            // A network with its own upstream is not touched.
            Assert.Equal([first.Endpoint], (await daemon.Client.GetNetworkAsync(pinned.Name)).EffectiveDnsUpstreams);
        }
        finally { dir.Delete(recursive: true); }
    }

    [LinuxRootFact]
    public async Task With_no_resolver_file_guests_get_leases_and_names_and_a_file_that_appears_is_followed()
    {
        var dir = Directory.CreateTempSubdirectory("sy-resolv-");
        try
        {
            string resolv = Path.Combine(dir.FullName, "later", "resolv.conf"); // not even its directory exists
            await using var daemon = await TestDaemon.StartAsync(resolv);
            var net = await daemon.CreateNetworkAsync([]);
            Assert.Empty(net.EffectiveDnsUpstreams!);
            using var alpha = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
            using var beta = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
            var leaseA = alpha.Dhcp();
            var leaseB = beta.Dhcp();
            Assert.Equal(alpha.Endpoint.Ipv4, leaseA["ip"]);
            Assert.Equal(beta.Endpoint.Ipv4, leaseB["ip"]);

            // The peer's name is the gateway's own answer; an outside name is SERVFAIL at once.
            Assert.Equal(leaseB["ip"], alpha.Dig($"@{net.Gateway}", $"beta.{net.Domain}", "+short"));
            var r = alpha.TryExec(20_000, "dig", "+tries=1", "+time=5", $"@{net.Gateway}", TestDnsmasq.Name);
            Assert.Contains("status: SERVFAIL", r.StdOut);
            var took = DigOutput.QueryTime(r.StdOut); // dig's own timing: starting it on a loaded machine is not counted
            Assert.True(took < TimeSpan.FromSeconds(2), $"SERVFAIL took {took}");
            var sw = Stopwatch.StartNew();

            // The file appears (a VPN or DHCP client writes it): followed like any change.
            using var dnsmasq = TestDnsmasq.StartOnPort53("198.51.100.33");
            Directory.CreateDirectory(Path.GetDirectoryName(resolv)!);
            File.WriteAllText(resolv, $"nameserver {dnsmasq.ListenAddress}\n");
            sw.Restart();
            string answer;
            while ((answer = alpha.Dig($"@{net.Gateway}", TestDnsmasq.Name, "+short")) != dnsmasq.Answer)
            {
                Assert.True(sw.Elapsed < Deadline, $"after {sw.Elapsed} the guest gets '{answer}', not {dnsmasq.Answer}");
                await Task.Delay(50);
            }
        }
        finally { dir.Delete(recursive: true); }
    }
}
