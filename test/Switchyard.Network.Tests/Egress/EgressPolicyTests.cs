using System.Net;
using System.Net.Sockets;
using Switchyard.Daemon.Planning;
using Switchyard.Network.Egress;

namespace Switchyard.Network.Tests.Egress;

/// <summary>Matching by a rule; parsing its text is Switchyard.Client's (EgressRuleSpecTests).</summary>
public sealed class EgressRuleTests
{
    [Fact]
    public void A_wildcard_matches_subdomains_but_not_the_name_itself_or_lookalikes()
    {
        var rule = RuleSpecs.ParseRule("*.wild.example");
        Assert.True(rule.MatchesName("api.wild.example"));
        Assert.True(rule.MatchesName("a.b.wild.example"));
        Assert.False(rule.MatchesName("wild.example"));
        Assert.False(rule.MatchesName("notwild.example"));
        Assert.False(rule.MatchesName("wild.example.evil"));
    }

    [Fact]
    public void Ports_and_protocols_narrow_a_rule()
    {
        var rule = RuleSpecs.ParseRule("10.0.0.0/8:443/tcp");
        Assert.True(rule.Covers(ProtocolType.Tcp, 443));
        Assert.False(rule.Covers(ProtocolType.Tcp, 80));
        Assert.False(rule.Covers(ProtocolType.Udp, 443));
        Assert.False(rule.Covers(ProtocolType.Icmp, 0));
        Assert.True(RuleSpecs.ParseRule("10.0.0.0/8").Covers(ProtocolType.Icmp, 0));
        Assert.False(RuleSpecs.ParseRule("10.0.0.0/8:443").Covers(ProtocolType.Icmp, 0));
    }
}

public sealed class EgressPolicyTests
{
    private static readonly IPAddress Allowed = IPAddress.Parse("198.51.100.10");
    private static readonly IPAddress Other = IPAddress.Parse("198.51.100.20");

    private static EgressPolicy AllowList(params string[] allow) => RuleSpecs.CreatePolicy("deny", allow, []);

    [Fact]
    public void An_allowlist_resolves_only_allowed_names()
    {
        var p = AllowList("allowed.example", "*.wild.example");
        Assert.True(p.CheckQuery("allowed.example").Allowed);
        Assert.True(p.CheckQuery("api.wild.example").Allowed);
        var denied = p.CheckQuery("blocked.example");
        Assert.False(denied.Allowed);
        Assert.Equal("name-not-allowed", denied.Reason);
    }

    [Fact]
    public void An_allowlist_opens_flows_to_pinned_addresses_with_a_name_check_and_to_cidrs_without()
    {
        var p = AllowList("allowed.example", "203.0.113.0/24:8443/tcp");
        var byName = p.CheckFlow(ProtocolType.Tcp, Allowed, 443, ["allowed.example"]);
        Assert.True(byName.Allowed);
        Assert.True(byName.Inspect);
        Assert.Equal("allowed.example", byName.Name);

        Assert.Equal("not-resolved", p.CheckFlow(ProtocolType.Tcp, Other, 443, []).Reason);
        Assert.False(p.CheckFlow(ProtocolType.Tcp, Other, 443, ["blocked.example"]).Allowed);

        var byCidr = p.CheckFlow(ProtocolType.Tcp, IPAddress.Parse("203.0.113.7"), 8443, []);
        Assert.True(byCidr.Allowed);
        Assert.False(byCidr.Inspect);
        Assert.False(p.CheckFlow(ProtocolType.Tcp, IPAddress.Parse("203.0.113.7"), 8080, []).Allowed);
        Assert.False(p.CheckFlow(ProtocolType.Udp, IPAddress.Parse("203.0.113.7"), 8443, []).Allowed);
    }

    [Fact]
    public void Quic_and_other_resolvers_need_an_address_rule()
    {
        var p = AllowList("allowed.example");
        Assert.Equal("quic", p.CheckFlow(ProtocolType.Udp, Allowed, 443, ["allowed.example"]).Reason);
        Assert.Equal("dns-bypass", p.CheckFlow(ProtocolType.Udp, Allowed, 53, ["allowed.example"]).Reason);
        Assert.Equal("dns-bypass", p.CheckFlow(ProtocolType.Tcp, Allowed, 853, ["allowed.example"]).Reason);
        Assert.True(p.CheckFlow(ProtocolType.Udp, Allowed, 5000, ["allowed.example"]).Allowed);

        var withQuic = AllowList("allowed.example", "198.51.100.0/24:443/udp");
        Assert.True(withQuic.CheckFlow(ProtocolType.Udp, Allowed, 443, []).Allowed);
        // An address rule without a port does not open DNS: only one that names the port does.
        Assert.Equal("dns-bypass", AllowList("allowed.example", "198.51.100.0/24").CheckFlow(ProtocolType.Udp, Allowed, 53, []).Reason);
        Assert.True(AllowList("allowed.example", "198.51.100.10:53/udp").CheckFlow(ProtocolType.Udp, Allowed, 53, []).Allowed);
    }

    [Theory]
    [InlineData("allowed.example", true, "allowed-sni")]
    [InlineData("blocked.example", false, "sni-mismatch")]
    [InlineData(null, false, "no-sni")]
    public void The_sni_must_be_allowed_and_resolved_to_the_destination(string? sni, bool allowed, string reason)
    {
        var p = AllowList("allowed.example", "blocked-too.example");
        var v = p.CheckServerName(sni, tls: true, 443, ["allowed.example"]);
        Assert.Equal(allowed, v.Allowed);
        Assert.Equal(reason, v.Reason);
    }

    [Fact]
    public void An_allowed_name_sent_to_an_address_pinned_for_another_allowed_name_is_a_mismatch()
    {
        var p = AllowList("a.example", "b.example");
        Assert.Equal("host-mismatch", p.CheckServerName("b.example", tls: false, 80, ["a.example"]).Reason);
    }

    [Fact]
    public void A_denylist_lets_everything_but_its_names_and_networks()
    {
        var p = RuleSpecs.CreatePolicy("allow", [], ["blocked.example", "192.0.2.0/24"]);
        Assert.False(p.CheckQuery("blocked.example").Allowed);
        Assert.True(p.CheckQuery("anything.example").Allowed);
        Assert.Equal("denied-cidr", p.CheckFlow(ProtocolType.Tcp, IPAddress.Parse("192.0.2.5"), 80, []).Reason);
        var open = p.CheckFlow(ProtocolType.Tcp, Other, 443, []);
        Assert.True(open.Allowed);
        Assert.True(open.Inspect);   // a Host or SNI may still name the denied site
        Assert.Equal("denied-name", p.CheckServerName("blocked.example", tls: true, 443, []).Reason);
        Assert.True(p.CheckServerName("fine.example", tls: true, 443, []).Allowed);
        Assert.Equal("quic", p.CheckFlow(ProtocolType.Udp, Other, 443, []).Reason);
    }
}
