namespace Switchyard.Client.Tests;

/// <summary>The egress rule text the CLI checks and the daemon converts (moved from Network.Tests' EgressRuleTests).</summary>
public sealed class EgressRuleSpecTests
{
    [Theory]
    [InlineData("allowed.example", "allowed.example")]
    [InlineData("Allowed.Example.", "allowed.example")]
    [InlineData("*.wild.example", "*.wild.example")]
    [InlineData("api.example:443", "api.example:443")]
    [InlineData("api.example:443/TCP", "api.example:443/tcp")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("10.1.2.3", "10.1.2.3")]
    [InlineData("10.1.2.3:53/udp", "10.1.2.3/32:53/udp")]
    [InlineData("10.0.0.0/8/udp", "10.0.0.0/8/udp")]
    [InlineData("fd00::/64", "fd00::/64")]
    [InlineData("[fd00::/64]:443", "[fd00::/64]:443")]
    [InlineData("[2001:db8::1]:443/tcp", "[2001:db8::1/128]:443/tcp")]
    [InlineData("_service._tcp.example", "_service._tcp.example")]
    public void Parses_to_its_canonical_spelling(string text, string canonical)
    {
        Assert.True(EgressRuleSpec.TryParse(text, out var rule, out var error), error);
        Assert.Equal(canonical, rule.ToString());
        // The canonical spelling reads back as the same rule (what removal matches on).
        Assert.Equal(rule, EgressRuleSpec.Parse(canonical));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("exa mple.com", "expected DOMAIN")]
    [InlineData("-bad.example", "expected DOMAIN")]
    [InlineData("a..b", "expected DOMAIN")]
    [InlineData("example.com:0", "not a port")]
    [InlineData("example.com:70000", "not a port")]
    [InlineData("example.com:http", "not a port")]
    [InlineData("10.0.0.1/8", "not a CIDR network")]
    [InlineData("10.0.0.0/33", "not a CIDR network")]
    [InlineData("[fd00::/64", "without ']'")]
    [InlineData("[fd00::/64]443", "expected ':PORT'")]
    [InlineData(":443", "no name or network")]
    [InlineData("*.", "expected DOMAIN")]
    public void Bad_rules_say_what_is_wrong_in_one_line(string text, string message)
    {
        Assert.False(EgressRuleSpec.TryParse(text, out _, out var error));
        Assert.Contains(message, error);
        Assert.DoesNotContain('\n', error);
    }
}
