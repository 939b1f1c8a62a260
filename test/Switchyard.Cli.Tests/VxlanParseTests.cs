using System.CommandLine;
using Switchyard.Cli.Commands;

namespace Switchyard.Cli.Tests;

/// <summary>The VXLAN options of <c>network create</c> and <c>network update</c>: what is a usage
/// error before any daemon call (the addresses themselves are the daemon's to check).</summary>
public sealed class VxlanParseTests
{
    private static ParseResult Parse(params string[] args) => YardCommand.Build().Parse(args);

    [Theory]
    [InlineData("--vxlan", "42")]
    [InlineData("--vxlan", "0", "--vxlan-local", "10.0.0.1:4789", "--vxlan-peer", "10.0.0.2", "--vxlan-peer", "10.0.0.3:8472")]
    [InlineData("--mode", "bridged:vxlan", "--vxlan", "16777215", "--vxlan-local", "[fd00::2]", "--vxlan-peer", "[fd00::1]:4789")]
    public void Create_takes_a_tunnel(params string[] options) =>
        Assert.Empty(Parse(["network", "create", "net", .. options]).Errors);

    [Theory]
    [InlineData("24 bits", "--vxlan", "16777216")]
    [InlineData("24 bits", "--vxlan", "-1")]
    [InlineData("need --vxlan", "--vxlan-peer", "10.0.0.2")]
    [InlineData("need --vxlan", "--vxlan-local", "10.0.0.1")]
    public void Create_refuses_a_tunnel_without_a_vni(string message, params string[] options)
    {
        var errors = Parse(["network", "create", "net", .. options]).Errors;
        Assert.Contains(errors, e => e.Message.Contains(message));
    }

    [Fact]
    public void Update_adds_and_removes_peers() =>
        Assert.Empty(Parse("network", "update", "net", "--vxlan-peer", "10.0.0.2", "--remove-vxlan-peer", "10.0.0.3:4789").Errors);

    [Fact]
    public void Update_changes_peers_apart_from_the_mode() =>
        Assert.Contains(Parse("network", "update", "net", "--vxlan-peer", "10.0.0.2", "--mode", "internal").Errors, e => e.Message.Contains("separate"));

    [Fact]
    public void Update_needs_something_to_change() =>
        Assert.Contains(Parse("network", "update", "net").Errors, e => e.Message.Contains("--vxlan-peer"));
}
