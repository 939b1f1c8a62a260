using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;

namespace Switchyard.Daemon.Tests.Planning;

public sealed class LabelRulesTests
{
    [Fact]
    public void Ordinary_labels_pass()
    {
        LabelRules.Check(null, "endpoint 'a'");
        LabelRules.Check(new Dictionary<string, string> { ["team"] = "web", ["io.podman/id"] = "abc=def", ["empty"] = "", ["note"] = "two words" }, "endpoint 'a'");
    }

    [Theory]
    [InlineData("")]
    [InlineData("a=b")]
    [InlineData("has space")]
    [InlineData("tab\tkey")]
    [InlineData("new\nline")]
    public void Bad_keys_are_invalid(string key)
    {
        var e = Assert.Throws<ControlException>(() => LabelRules.Check(new Dictionary<string, string> { [key] = "v" }, "endpoint 'a'"));
        Assert.Equal(ControlError.Invalid, e.Kind);
        Assert.StartsWith("invalid label key", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Sizes_and_control_characters_in_values_are_invalid()
    {
        Assert.Throws<ControlException>(() => LabelRules.Check(new Dictionary<string, string> { [new string('k', LabelRules.MaxKeyLength + 1)] = "" }, "x"));
        Assert.Throws<ControlException>(() => LabelRules.Check(new Dictionary<string, string> { ["k"] = new string('v', LabelRules.MaxValueLength + 1) }, "x"));
        Assert.Throws<ControlException>(() => LabelRules.Check(new Dictionary<string, string> { ["k"] = "line\nbreak" }, "x"));
        var many = Enumerable.Range(0, LabelRules.MaxLabels + 1).ToDictionary(i => $"k{i}", i => "");
        Assert.Contains("at most 64", Assert.Throws<ControlException>(() => LabelRules.Check(many, "network 'n'")).Message);
        LabelRules.Check(new Dictionary<string, string> { [new string('k', LabelRules.MaxKeyLength)] = new string('v', LabelRules.MaxValueLength) }, "x");
    }
}
