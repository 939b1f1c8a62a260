using Switchyard.Client;

namespace Switchyard.Cni.Tests;

public sealed class ResultBuilderTests
{
    private static readonly NetworkInfo Net = new()
    {
        Name = "n", Mode = "nat", Subnet = "10.9.8.0/24", Gateway = "10.9.8.1", GatewayMac = "02:00:00:00:00:01", Mtu = 1500,
        Domain = "n.internal", DnsUpstreams = [], Labels = new Dictionary<string, string>(), Created = DateTimeOffset.UnixEpoch,
    };

    private static EndpointInfo Endpoint(bool defaultRoute) => new()
    {
        Network = "n", Name = "ep", Fqdn = "ep.n.internal", Mac = "02:11:22:33:44:55", Ipv4 = "10.9.8.7", DefaultRoute = defaultRoute,
        Transport = new TransportSpec { Kind = "tap" }, State = "up", Created = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public void A_1_0_result_has_interface_address_route_and_dns()
    {
        var r = ResultBuilder.Build("1.0.0", Net, Endpoint(true), "/run/netns/c", "eth0");
        var nic = Assert.Single(r.Interfaces!);
        Assert.Equal(("eth0", "02:11:22:33:44:55", "/run/netns/c"), (nic.Name, nic.Mac, nic.Sandbox));
        Assert.Null(nic.Mtu);
        var ip = Assert.Single(r.Ips!);
        Assert.Equal(("10.9.8.7/24", "10.9.8.1", 0, (string?)null), (ip.Address, ip.Gateway, ip.Interface!.Value, ip.Version));
        var route = Assert.Single(r.Routes!);
        Assert.Equal(("0.0.0.0/0", "10.9.8.1"), (route.Dst, route.Gw));
        Assert.Equal(["10.9.8.1"], r.Dns!.Nameservers!);
        Assert.Equal("n.internal", r.Dns.Domain);
        Assert.Equal(["n.internal"], r.Dns.Search!);
    }

    [Fact]
    public void Older_results_name_the_ip_version_and_1_1_the_mtu()
    {
        Assert.Equal("4", ResultBuilder.Build("0.4.0", Net, Endpoint(true), "/x", "eth0").Ips![0].Version);
        Assert.Equal(1500, ResultBuilder.Build("1.1.0", Net, Endpoint(true), "/x", "eth0").Interfaces![0].Mtu);
    }

    [Fact]
    public void Without_the_default_route_there_is_no_route() =>
        Assert.Empty(ResultBuilder.Build("1.0.0", Net, Endpoint(false), "/x", "eth0").Routes!);
}
