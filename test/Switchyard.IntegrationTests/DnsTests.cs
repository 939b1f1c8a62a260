using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed class DnsTests
{
    [LinuxRootFact]
    public async Task Gateway_answers_names_reverse_lookups_nxdomain_and_tcp()
    {
        await using var lan = await Lan.StartAsync();
        string gw = lan.Net.Gateway, domain = lan.Net.Domain, beta = lan.LeaseB["ip"];
        Assert.Equal($"{lan.Net.Name}.internal", domain);

        Assert.Equal(beta, lan.A.Dig($"@{gw}", $"beta.{domain}", "+short"));
        // Through /etc/netns/NS/resolv.conf (nameserver = gateway, search = domain), which ip netns exec bind-mounts.
        Assert.Contains($"nameserver {gw}", lan.A.Exec("cat", "/etc/resolv.conf").StdOut);
        Assert.Equal(beta, lan.A.Dig("+search", "beta", "+short"));
        Assert.Equal($"beta.{domain}.", lan.A.Dig($"@{gw}", "-x", beta, "+short"));
        Assert.Equal(gw, lan.A.Dig($"@{gw}", $"gateway.{domain}", "+short"));

        var nx = lan.A.Dig($"@{gw}", $"nosuchhost.{domain}");
        Assert.Contains("status: NXDOMAIN", nx);

        var tcp = lan.A.Dig("+tcp", $"@{gw}", $"beta.{domain}");
        Assert.Contains("status: NOERROR", tcp);
        Assert.Contains(beta, tcp);
        Assert.Equal(beta, lan.A.Dig("+tcp", $"@{gw}", $"beta.{domain}", "+short"));
    }
}
