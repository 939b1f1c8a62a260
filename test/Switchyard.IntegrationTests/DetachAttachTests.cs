using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed class DetachAttachTests
{
    [LinuxRootFact]
    public async Task Reattaching_an_endpoint_name_keeps_its_ip_and_mac()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string ip, mac;
        using (var first = await Guest.AttachAsync(daemon.Client, net.Name, "alpha"))
        {
            ip = first.Dhcp()["ip"];
            mac = first.Endpoint.Mac;
            await daemon.Client.DetachEndpointAsync(net.Name, "alpha");
            Assert.DoesNotContain(await daemon.Client.ListEndpointsAsync(net.Name), e => e.Name == "alpha");
        }
        // Another guest takes an address meanwhile; alpha's stays reserved for its name.
        using var other = await Guest.AttachAsync(daemon.Client, net.Name, "other");
        Assert.NotEqual(ip, other.Endpoint.Ipv4);

        using var second = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        Assert.Equal(ip, second.Endpoint.Ipv4);
        Assert.Equal(mac, second.Endpoint.Mac);
        Assert.Contains(mac, second.Namespace.Ip("link", "show", "eth0").StdOut, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(ip, second.Dhcp()["ip"]);
    }
}
