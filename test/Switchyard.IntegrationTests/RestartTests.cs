using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed class RestartTests
{
    [LinuxRootFact]
    public async Task A_daemon_restart_keeps_endpoints_leases_and_connectivity()
    {
        await using var lan = await Lan.StartAsync();
        string ipA = lan.LeaseA["ip"], ipB = lan.LeaseB["ip"];

        await lan.Daemon.RestartAsync();

        var ep = await lan.Client.GetEndpointAsync(lan.Net.Name, "alpha");
        Assert.Equal("up", ep.State);
        Assert.Equal(ipA, ep.Ipv4);
        Assert.Equal(lan.A.Endpoint.Mac, ep.Mac);
        var leases = await lan.Client.ListLeasesAsync(lan.Net.Name);
        Assert.Equal(ipA, leases.Single(l => l.Endpoint == "alpha").Ipv4);
        Assert.Equal(ipB, leases.Single(l => l.Endpoint == "beta").Ipv4);

        // Without running DHCP again: the guest's link, address and route survived.
        Assert.True(lan.A.Ping(lan.Net.Gateway), "alpha -> gateway after restart");
        Assert.Equal(ipB, lan.A.Dig($"@{lan.Net.Gateway}", $"beta.{lan.Net.Domain}", "+short"));
        Assert.True(lan.A.Ping("beta"), "alpha -> beta after restart");

        Assert.Equal(ipA, lan.A.Dhcp()["ip"]);
    }
}
