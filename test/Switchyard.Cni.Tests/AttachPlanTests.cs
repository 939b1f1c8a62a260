namespace Switchyard.Cni.Tests;

public sealed class AttachPlanTests
{
    private static readonly CniEnvironment Env = new("ADD", "0123456789abcdef", "/run/netns/x", "eth0", "IgnoreUnknown=1;K8S_POD_NAME=web_1", "/opt/cni/bin");

    [Fact]
    public void An_add_becomes_a_configured_tap_in_the_namespace_with_labels()
    {
        var r = AttachPlan.Build(new NetConf { CniVersion = "1.0.0", Name = "cninet", Network = "sy" }, Env, "sy");
        Assert.Equal(EndpointNames.For("0123456789abcdef", "eth0"), r.Name);
        Assert.Equal("tap", r.Transport.Kind);
        Assert.Equal("/run/netns/x", r.Transport.NetnsPath);
        Assert.Equal("eth0", r.Transport.Ifname);
        Assert.True(r.Transport.Configure);
        Assert.Equal(["web-1"], r.Aliases!);
        Assert.Equal("0123456789abcdef", r.Labels![AttachPlan.ContainerIdLabel]);
        Assert.Equal("eth0", r.Labels[AttachPlan.IfnameLabel]);
        Assert.Equal("cninet", r.Labels[AttachPlan.CniNetworkLabel]);
        Assert.Null(r.Publish);
    }

    [Fact]
    public void Port_mappings_become_publish_specs()
    {
        var specs = AttachPlan.PublishSpecs([
            new PortMapping { HostPort = 18080, ContainerPort = 80, Protocol = "tcp" },
            new PortMapping { HostPort = 5353, ContainerPort = 53, Protocol = "UDP", HostIp = "127.0.0.1" },
            new PortMapping { HostPort = 8443, ContainerPort = 443, HostIp = "::1" },
        ], null);
        Assert.Equal(["0.0.0.0:18080:80/tcp", "127.0.0.1:5353:53/udp", "[::1]:8443:443/tcp"], specs!);
        Assert.Equal(["127.0.0.1:18080:80/tcp"], AttachPlan.PublishSpecs([new PortMapping { HostPort = 18080, ContainerPort = 80 }], "127.0.0.1")!);
    }

    [Theory]
    [InlineData("sctp", 80, 80, null)]
    [InlineData("tcp", 0, 80, null)]
    [InlineData("tcp", 80, 70000, null)]
    [InlineData("tcp", 80, 80, "not-an-ip")]
    public void A_bad_port_mapping_is_a_config_error(string protocol, int hostPort, int containerPort, string? hostIp)
    {
        var e = Assert.Throws<CniException>(() =>
            AttachPlan.PublishSpecs([new PortMapping { HostPort = hostPort, ContainerPort = containerPort, Protocol = protocol, HostIp = hostIp }], null));
        Assert.Equal(CniErrors.InvalidConfig, e.Code);
    }

    [Fact]
    public void Aliases_put_the_container_name_first_without_duplicates()
    {
        Assert.Equal(["web", "db", "cache"], AttachPlan.Aliases("web", ["db", "WEB", "cache", "db", "ep"], "ep")!);
        Assert.Null(AttachPlan.Aliases(null, [], "ep"));
    }

    [Fact]
    public void The_runtimes_aliases_for_this_network_are_used()
    {
        var conf = new NetConf
        {
            CniVersion = "1.0.0", Name = "cninet",
            RuntimeConfig = new RuntimeConfig { Aliases = new() { ["cninet"] = ["api"], ["other"] = ["nope"] }, Mac = "02:00:00:00:00:01", Ips = ["fd00::5/64", "10.1.2.3/24"] },
        };
        var r = AttachPlan.Build(conf, Env, "cninet");
        Assert.Equal(["web-1", "api"], r.Aliases!);
        Assert.Equal("02:00:00:00:00:01", r.Mac);
        Assert.Equal("10.1.2.3", r.Ip);
    }

    [Theory]
    [InlineData(null, "/run/netns/x", "eth0", "CNI_CONTAINERID")]
    [InlineData("id", null, "eth0", "CNI_NETNS")]
    [InlineData("id", "/run/netns/x", null, "CNI_IFNAME")]
    public void A_missing_variable_is_error_4(string? id, string? netns, string? ifname, string variable)
    {
        var e = Assert.Throws<CniException>(() => AttachPlan.Build(new NetConf { Name = "n" }, Env with { ContainerId = id, Netns = netns, Ifname = ifname }, "n"));
        Assert.Equal(CniErrors.InvalidEnvironment, e.Code);
        Assert.Contains(variable, e.Message);
    }
}
