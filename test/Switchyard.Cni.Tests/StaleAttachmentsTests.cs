using Switchyard.Client;

namespace Switchyard.Cni.Tests;

public sealed class StaleAttachmentsTests
{
    private static EndpointInfo Ep(string name, string netns, string[]? aliases = null, string[]? published = null, string cniNetwork = "lab",
        bool cni = true) => new()
    {
        Network = "lab", Name = name, Fqdn = $"{name}.lab.internal", Mac = "02:00:00:00:00:02", Ipv4 = "10.0.0.2",
        Transport = new TransportSpec { Kind = "tap", NetnsPath = netns }, State = "up", Created = DateTimeOffset.UnixEpoch,
        Aliases = aliases, Published = published,
        Labels = cni ? new Dictionary<string, string> { [AttachPlan.ContainerIdLabel] = name, [AttachPlan.CniNetworkLabel] = cniNetwork } : new Dictionary<string, string>(),
    };

    private static readonly EndpointAttachRequest Request = new()
    {
        Name = "new-eth0-1", Transport = new TransportSpec { Kind = "tap" }, Aliases = ["web"], Publish = ["127.0.0.1:8080:80/tcp"],
    };

    [Fact]
    public void Only_endpoints_in_the_way_whose_namespace_is_gone_are_stale()
    {
        var endpoints = new[]
        {
            Ep("gone-name", "/gone/1", aliases: ["web"]),
            Ep("gone-port", "/gone/2", published: ["0.0.0.0:8080:80/tcp"]),
            Ep("gone-other-port", "/gone/3", published: ["0.0.0.0:8080:80/udp"]),
            Ep("gone-unrelated", "/gone/4", aliases: ["db"]),
            Ep("alive-name", "/alive/1", aliases: ["web"]),
            Ep("gone-not-cni", "/gone/5", aliases: ["web"], cni: false),
            Ep("gone-other-cni-net", "/gone/6", aliases: ["web"], cniNetwork: "other"),
            Ep("new-eth0-1", "/gone/7", aliases: ["web"]),
        };
        var stale = StaleAttachments.Blocking(endpoints, Request, "lab", path => path.StartsWith("/alive", StringComparison.Ordinal));
        Assert.Equal(["gone-name", "gone-port"], stale.Select(e => e.Name));
    }
}
