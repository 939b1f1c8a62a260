using System.Text.RegularExpressions;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed partial class DnsForwardingTests
{
    [LinuxRootFact]
    public async Task Forwards_to_the_upstream_and_serves_the_second_answer_from_cache()
    {
        using var dnsmasq = TestDnsmasq.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync([dnsmasq.Endpoint]);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        guest.Dhcp();

        var first = guest.Dig($"@{net.Gateway}", TestDnsmasq.Name, "+noall", "+answer");
        var (ttl1, addr1) = ParseA(first);
        Assert.Equal(TestDnsmasq.Address, addr1);

        dnsmasq.Stop();
        await Task.Delay(1100);
        var second = guest.Dig($"@{net.Gateway}", TestDnsmasq.Name, "+noall", "+answer");
        var (ttl2, addr2) = ParseA(second);
        Assert.Equal(TestDnsmasq.Address, addr2);
        Assert.True(ttl2 <= ttl1, $"cached TTL {ttl2} > first TTL {ttl1}");
        var info = await daemon.Client.GetNetworkAsync(net.Name);
        Assert.True(info.Services!.DnsCacheEntries >= 1);
    }

    [LinuxRootFact]
    public async Task Dead_upstream_gives_servfail_fast()
    {
        int port = TestDnsmasq.FreeLoopbackPort(); // nothing listens there
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync([$"127.0.0.1:{port}"]);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        guest.Dhcp();

        var r = guest.TryExec(20_000, "dig", "+tries=1", "+time=5", $"@{net.Gateway}", "nothing.example");
        Assert.Contains("status: SERVFAIL", r.StdOut);
        var took = DigOutput.QueryTime(r.StdOut); // dig's own timing: starting it on a loaded machine is not counted
        Assert.True(took < TimeSpan.FromSeconds(2), $"SERVFAIL took {took}");
    }

    private static (int Ttl, string Address) ParseA(string answer)
    {
        var m = ARecord().Match(answer);
        Assert.True(m.Success, $"no A record in: {answer}");
        return (int.Parse(m.Groups[1].Value), m.Groups[2].Value);
    }

    [GeneratedRegex(@"outside\.test\.\s+(\d+)\s+IN\s+A\s+(\S+)")]
    private static partial Regex ARecord();
}
