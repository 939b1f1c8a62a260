using System.Text.Json;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Docker;

namespace Switchyard.Daemon.Tests.Docker;

/// <summary>CreateNetwork's options and IPAM data as libnetwork sends them (remote.md, "Create network"), read whole:
/// what is known becomes the network's spec, anything else is refused with a message naming it.</summary>
public sealed class DockerNetworkOptionsTests
{
    private const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private static CreateNetworkRequest Request(string options = "{}", string pool = "10.20.0.0/24", string? gateway = "10.20.0.1/24", string extra = "") =>
        JsonSerializer.Deserialize($$"""
            {"NetworkID":"{{Id}}","Options":{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":{{options}}{{extra}}},
             "IPv4Data":[{"AddressSpace":"LocalDefault","Pool":"{{pool}}"{{(gateway is null ? "" : $",\"Gateway\":\"{gateway}\"")}},"AuxAddresses":null}],"IPv6Data":[]}
            """, DockerJsonContext.Default.CreateNetworkRequest)!;

    [Fact]
    public void A_plain_network_is_nat_on_dockers_subnet()
    {
        var spec = DockerNetworkOptions.Parse(Request());
        Assert.Equal("10.20.0.0/24", spec.Subnet);
        Assert.Null(spec.Mode);
        Assert.Null(spec.Egress);
        Assert.Equal("nat", DockerNetworkOptions.ToCreateRequest("lab", spec, Id).Mode ?? "nat");
    }

    [Fact]
    public void Mode_egress_allow_mtu_and_dns_upstream_are_read()
    {
        var spec = DockerNetworkOptions.Parse(Request("""{"mode":"nat","egress":"deny","allow":"example.com, 10.0.0.0/8:443","mtu":"9000","dns-upstream":"10.1.1.1:5353"}"""));
        Assert.Equal("nat", spec.Mode);
        Assert.Equal("deny", spec.Egress!.Default);
        Assert.Equal(["example.com", "10.0.0.0/8:443"], spec.Egress.Allow);
        Assert.Equal(9000, spec.Mtu);
        Assert.Equal(["10.1.1.1:5353"], spec.DnsUpstreams);
        var create = DockerNetworkOptions.ToCreateRequest("lab", spec, Id);
        Assert.Equal(Id, create.Labels![DockerNetworkOptions.Labels.NetworkId]);
    }

    [Fact]
    public void Allow_rules_alone_make_an_allowlist_and_the_bridge_drivers_mtu_option_is_accepted()
    {
        var spec = DockerNetworkOptions.Parse(Request("""{"allow":"example.com","com.docker.network.driver.mtu":"1400"}"""));
        Assert.Equal("deny", spec.Egress!.Default);
        Assert.Equal(1400, spec.Mtu);
    }

    [Fact]
    public void Docker_internal_flag_is_internal_mode() =>
        Assert.Equal("internal", DockerNetworkOptions.Parse(Request(extra: ",\"com.docker.network.internal\":true")).Mode);

    [Theory]
    [InlineData("""{"colour":"blue"}""", "unknown option 'colour'")]
    [InlineData("""{"mode":"bridged"}""", "mode 'bridged'")]
    [InlineData("""{"mode":"fast"}""", "mode 'fast'")]
    [InlineData("""{"egress":"maybe"}""", "egress 'maybe'")]
    [InlineData("""{"mode":"internal","egress":"deny"}""", "egress policies apply to nat networks")]
    [InlineData("""{"allow":"not a rule!"}""", "not a rule")]
    [InlineData("""{"allow":" , "}""", "names nothing")]
    [InlineData("""{"mtu":"big"}""", "mtu 'big' is not a number")]
    [InlineData("""{"mtu":"100"}""", "MTU 100 is out of range")]
    [InlineData("""{"dns-upstream":"resolver"}""", "invalid dns-upstream 'resolver'")]
    [InlineData("\"oops\"", "is not an object")]
    public void Bad_options_are_refused_naming_them(string options, string message)
    {
        var e = Assert.Throws<ControlException>(() => DockerNetworkOptions.Parse(Request(options)));
        Assert.Equal(ControlError.Invalid, e.Kind);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Internal_flag_and_another_mode_disagree() =>
        Assert.Contains("disagree", Assert.Throws<ControlException>(() =>
            DockerNetworkOptions.Parse(Request("""{"mode":"nat"}""", extra: ",\"com.docker.network.internal\":true"))).Message, StringComparison.Ordinal);

    [Fact]
    public void The_gateway_must_be_the_subnets_first_address()
    {
        Assert.Equal("10.20.0.0/24", DockerNetworkOptions.Parse(Request(gateway: null)).Subnet);
        var e = Assert.Throws<ControlException>(() => DockerNetworkOptions.Parse(Request(gateway: "10.20.0.254/24")));
        Assert.Contains("10.20.0.1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ipv6_and_several_pools_and_no_pool_are_refused()
    {
        var v6 = Request() with { IPv6Data = [new IpamData { Pool = "fd00::/64" }] };
        Assert.Contains("--ipv6", Assert.Throws<ControlException>(() => DockerNetworkOptions.Parse(v6)).Message, StringComparison.Ordinal);
        var two = Request() with { IPv4Data = [new IpamData { Pool = "10.20.0.0/24" }, new IpamData { Pool = "10.21.0.0/24" }] };
        Assert.Contains("one IPv4 subnet", Assert.Throws<ControlException>(() => DockerNetworkOptions.Parse(two)).Message, StringComparison.Ordinal);
        var none = Request() with { IPv4Data = [] };
        Assert.Contains("--subnet", Assert.Throws<ControlException>(() => DockerNetworkOptions.Parse(none)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lab", "lab")]
    [InlineData("My_Net.v2", "my-net-v2")]
    [InlineData("__x__", "x")]
    [InlineData("_", null)]
    public void Docker_names_become_dns_labels(string docker, string? expected) => Assert.Equal(expected, DockerNetworkOptions.NetworkName(docker));

    [Fact]
    public void Endpoint_and_tap_names_come_from_the_id_and_fit()
    {
        Assert.Equal("docker-0123456789ab", DockerNetworkOptions.EndpointName(Id));
        Assert.Equal("sy0123456789abc", DockerNetworkOptions.TapName(Id));
        Assert.True(DockerNetworkOptions.TapName(Id).Length <= 15);
        Assert.Throws<ControlException>(() => DockerNetworkOptions.EndpointName("../etc/passwd"));
    }

    [Fact]
    public void Port_bindings_become_publish_specs()
    {
        var options = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""
            {"com.docker.network.portmap":[{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080},
                                           {"Proto":17,"IP":"","Port":53,"HostIP":"127.0.0.1","HostPort":5353,"HostPortEnd":0}]}
            """)!;
        Assert.Equal(["0.0.0.0:8080:80/tcp", "127.0.0.1:5353:53/udp"], RemoteDriver.PortSpecs(options));
        var ephemeral = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostPort":0}]}""")!;
        Assert.Contains("give the host port", Assert.Throws<ControlException>(() => RemoteDriver.PortSpecs(ephemeral)).Message, StringComparison.Ordinal);
        Assert.Empty(RemoteDriver.PortSpecs(null));
    }
}
