using System.Net;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Daemon.Planning;
using Switchyard.Network.Egress;
using Switchyard.Network.Nat;

namespace Switchyard.Daemon.Tests.Planning;

/// <summary>The API's rule and publish text turned into the data plane's types.</summary>
public sealed class RuleSpecsTests
{
    private static EgressPolicy AllowList(params string[] allow) => RuleSpecs.CreatePolicy("deny", allow, []);

    [Fact]
    public void Edits_add_and_remove_rules_by_any_spelling_and_refuse_unknown_removals()
    {
        var p = AllowList("allowed.example");
        var edited = RuleSpecs.EditPolicy(p, null, ["Blocked.Example."], ["allowed.example"], null, null);
        Assert.Equal(["blocked.example"], edited.Allow.Select(r => r.ToString()));
        Assert.Equal("deny", edited.DefaultText);
        var e = Assert.Throws<FormatException>(() => RuleSpecs.EditPolicy(p, null, null, ["nothere.example"], null, null));
        Assert.Contains("not on the allow list", e.Message);
        Assert.Equal("allow", RuleSpecs.EditPolicy(p, "allow", null, null, null, null).DefaultText);
        Assert.Throws<FormatException>(() => RuleSpecs.CreatePolicy("maybe", [], []));
    }

    [Theory]
    [InlineData("allowed.example")]
    [InlineData("*.wild.example:443/tcp")]
    [InlineData("10.1.2.3")]
    [InlineData("10.1.2.3:53/udp")]
    [InlineData("10.0.0.0/8/udp")]
    [InlineData("[fd00::/64]:443")]
    [InlineData("[2001:db8::1]:443/tcp")]
    public void An_egress_rule_keeps_its_canonical_spelling_through_the_conversion(string text)
    {
        // EgressRule (stored, described, matched on removal) and EgressRuleSpec (the CLI) must spell alike.
        var spec = EgressRuleSpec.Parse(text);
        Assert.Equal(spec.ToString(), RuleSpecs.ToEgressRule(spec).ToString());
    }

    [Theory]
    [InlineData("8080:80", "127.0.0.1:8080:80/tcp")]
    [InlineData("0.0.0.0:5353:53/udp", "0.0.0.0:5353:53/udp")]
    [InlineData("[::1]:8443:443/tcp", "[::1]:8443:443/tcp")]
    public void A_publish_spec_keeps_its_canonical_spelling_through_the_conversion(string text, string canonical)
    {
        Assert.True(RuleSpecs.TryParsePublish(text, out var port, out var error), error);
        Assert.Equal(canonical, port.ToString());
        Assert.True(PublishSpec.TryParse(text, out var spec, out _));
        Assert.Equal(spec.ToString(), port.ToString());
        Assert.Equal(new PublishedPort(spec.HostAddress, spec.HostPort, spec.GuestPort, spec.Protocol), port);
    }

    [Fact]
    public void A_bad_publish_spec_gives_the_parsers_error()
    {
        Assert.False(RuleSpecs.TryParsePublish("8080:80/sctp", out _, out var error));
        Assert.Equal("publish spec '8080:80/sctp': protocol must be tcp or udp", error);
    }

    [Fact]
    public void Rule_kinds_map_one_to_one()
    {
        Assert.Equal(EgressRuleKind.Name, RuleSpecs.ParseRule("a.example").Kind);
        Assert.Equal(EgressRuleKind.Subdomains, RuleSpecs.ParseRule("*.a.example").Kind);
        var cidr = RuleSpecs.ParseRule("192.0.2.0/24:443/tcp");
        Assert.Equal(new EgressRule(EgressRuleKind.Cidr, null, IPNetwork.Parse("192.0.2.0/24"), 443, ProtocolType.Tcp), cidr);
    }
}
