using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed class AntiSpoofingTests
{
    [LinuxRootFact]
    public async Task Spoofed_source_ip_and_mac_are_dropped_and_counted()
    {
        await using var lan = await Lan.StartAsync();
        string peer = lan.LeaseB["ip"];
        Assert.True(lan.A.Ping(peer), "baseline ping");

        var before = (await lan.Client.GetEndpointAsync(lan.Net.Name, "alpha")).Counters!.Drops;
        string prefix = lan.Net.Subnet[..lan.Net.Subnet.LastIndexOf('.')] + ".";
        string spoofIp = prefix + "200";
        lan.A.Namespace.Ip("addr", "add", $"{spoofIp}/24", "dev", "eth0");
        Assert.True(lan.A.PingGetsNoReply(peer, count: 3, from: spoofIp), "ping from an address the gateway did not assign got through");
        var afterIp = (await lan.Client.GetEndpointAsync(lan.Net.Name, "alpha")).Counters!.Drops;
        Assert.True(afterIp["spoofed-ip"] > before["spoofed-ip"], $"spoofed-ip {before["spoofed-ip"]} -> {afterIp["spoofed-ip"]}");
        lan.A.Namespace.Ip("addr", "del", $"{spoofIp}/24", "dev", "eth0");

        lan.A.Namespace.Ip("link", "set", "eth0", "address", "02:00:5e:10:20:30");
        Assert.True(lan.A.PingGetsNoReply(peer, count: 3), "ping from a spoofed MAC got through");
        var afterMac = (await lan.Client.GetEndpointAsync(lan.Net.Name, "alpha")).Counters!.Drops;
        Assert.True(afterMac["spoofed-mac"] > before["spoofed-mac"], $"spoofed-mac {before["spoofed-mac"]} -> {afterMac["spoofed-mac"]}");

        // The legitimate identity still works.
        lan.A.Namespace.Ip("link", "set", "eth0", "address", lan.A.Endpoint.Mac);
        lan.A.Namespace.Ip("neigh", "flush", "dev", "eth0");
        Assert.True(lan.A.Ping(peer), "ping with the real MAC again");
    }
}
