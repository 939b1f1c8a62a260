using System.Text.RegularExpressions;

namespace Switchyard.Cni.Tests;

public sealed partial class EndpointNamesTests
{
    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex Label();

    [Theory]
    [InlineData("42b267c4fdd829b8b017a77c4742d8479e8cef1acccab778ec5a22762f6996e2", "eth0")]
    [InlineData("test", "eth0")]
    [InlineData("___", "net1")]
    [InlineData("Pod_With.Dots-And-UPPER-and-a-very-long-tail-0123456789012345678901234567890123456789", "eth-with-15chr")]
    public void A_name_is_a_stable_valid_label(string id, string ifname)
    {
        var name = EndpointNames.For(id, ifname);
        Assert.Matches(Label(), name);
        Assert.Equal(name, EndpointNames.For(id, ifname));
    }

    [Fact]
    public void The_short_id_and_the_interface_are_in_the_name()
    {
        Assert.StartsWith("42b267c4fdd8-eth0-", EndpointNames.For("42b267c4fdd829b8b017a77c4742d8479e8cef1acccab778ec5a22762f6996e2", "eth0"));
    }

    [Fact]
    public void Attachments_that_share_a_prefix_get_different_names()
    {
        Assert.NotEqual(EndpointNames.For("aaaaaaaaaaaa1", "eth0"), EndpointNames.For("aaaaaaaaaaaa2", "eth0"));
        Assert.NotEqual(EndpointNames.For("aaaaaaaaaaaa1", "eth0"), EndpointNames.For("aaaaaaaaaaaa1", "eth1"));
        Assert.NotEqual(EndpointNames.For("a_b", "eth0"), EndpointNames.For("ab", "eth0"));
    }

    [Theory]
    [InlineData("web", "web")]
    [InlineData("web_1", "web-1")]
    [InlineData("My.App", "my-app")]
    [InlineData("__", null)]
    [InlineData("", null)]
    public void Container_names_become_dns_labels(string name, string? label) => Assert.Equal(label, EndpointNames.AsLabel(name));

    [Fact]
    public void A_long_container_name_is_cut_to_63()
    {
        var label = EndpointNames.AsLabel(new string('a', 62) + "-b" + new string('c', 10))!;
        Assert.Matches(Label(), label);
        Assert.Equal(new string('a', 62), label);
    }
}
