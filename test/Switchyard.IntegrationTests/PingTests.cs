using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed class PingTests
{
    [LinuxRootFact]
    public async Task Guests_ping_the_gateway_and_each_other_by_ip_and_by_name()
    {
        await using var lan = await Lan.StartAsync();
        Assert.True(lan.A.Ping(lan.Net.Gateway), "alpha -> gateway");
        Assert.True(lan.B.Ping(lan.Net.Gateway), "beta -> gateway");
        Assert.True(lan.A.Ping(lan.LeaseB["ip"]), "alpha -> beta by IP");
        Assert.True(lan.B.Ping(lan.LeaseA["ip"]), "beta -> alpha by IP");
        Assert.True(lan.A.Ping("beta"), "alpha -> beta by search-domain name");
        Assert.True(lan.B.Ping($"alpha.{lan.Net.Domain}"), "beta -> alpha.DOMAIN");
        Assert.True(lan.A.Ping("gateway"), "alpha -> gateway by name");
    }
}
