using System.Diagnostics.CodeAnalysis;
using Switchyard.Client;
using Switchyard.Network.Egress;
using Switchyard.Network.Nat;

namespace Switchyard.Daemon.Planning;

/// <summary>
/// The API's text for published ports and egress policies, turned into the data plane's types. The text is
/// parsed by Switchyard.Client (<see cref="PublishSpec"/>, <see cref="EgressRuleSpec"/>), the same code the CLI
/// checks its arguments with; Switchyard.Network takes fields only and knows nothing of either. Errors are
/// <see cref="FormatException"/>s (or a false and an error) with one-line messages the API returns as 400s.
/// </summary>
public static class RuleSpecs
{
    /// <summary>The data plane's form of a parsed publish spec.</summary>
    public static PublishedPort ToPublishedPort(PublishSpec spec) =>
        new(spec.HostAddress, spec.HostPort, spec.GuestPort, spec.Protocol);

    /// <summary>Parses <c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c>; false with the parser's one-line error.</summary>
    public static bool TryParsePublish(string? text, out PublishedPort port, out string error)
    {
        port = default;
        if (!PublishSpec.TryParse(text, out var spec, out error)) return false;
        port = ToPublishedPort(spec);
        return true;
    }

    /// <summary>The data plane's form of a parsed egress rule.</summary>
    public static EgressRule ToEgressRule(EgressRuleSpec spec) => new(spec.Kind switch
    {
        EgressRuleTarget.Name => EgressRuleKind.Name,
        EgressRuleTarget.Subdomains => EgressRuleKind.Subdomains,
        EgressRuleTarget.Cidr => EgressRuleKind.Cidr,
        _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Kind, "unknown egress rule kind"),
    }, spec.Domain, spec.Network, spec.Port, spec.Protocol);

    /// <summary>Parses one rule; throws <see cref="FormatException"/> with the parser's one-line error.</summary>
    public static EgressRule ParseRule(string text) => ToEgressRule(EgressRuleSpec.Parse(text));

    /// <summary>Builds a policy from its API form; throws <see cref="FormatException"/> with a
    /// one-line message for a bad default or rule. Duplicate rules (any spelling) are kept once.</summary>
    public static EgressPolicy CreatePolicy(string defaultText, IEnumerable<string>? allow, IEnumerable<string>? deny) =>
        new(ParseDefault(defaultText), ParseAll(allow), ParseAll(deny));

    /// <summary>A copy of <paramref name="policy"/> with rules added and removed (by canonical spelling) and
    /// maybe another default; removing a rule that is not there is an error, so a typo does not pass silently.
    /// Throws <see cref="FormatException"/> with a one-line message.</summary>
    public static EgressPolicy EditPolicy(EgressPolicy policy, string? defaultText, IEnumerable<string>? addAllow, IEnumerable<string>? removeAllow,
        IEnumerable<string>? addDeny, IEnumerable<string>? removeDeny)
    {
        var allow = Apply(policy.Allow, addAllow, removeAllow, "allow");
        var deny = Apply(policy.Deny, addDeny, removeDeny, "deny");
        return new EgressPolicy(ParseDefault(defaultText ?? policy.DefaultText), allow, deny);
    }

    /// <summary>True for "allow" (a denylist), false for "deny" (an allowlist).</summary>
    private static bool ParseDefault(string text) => text switch
    {
        "allow" => true,
        "deny" => false,
        _ => throw new FormatException($"unknown egress default '{text}': use deny (an allowlist) or allow (a denylist)"),
    };

    private static List<EgressRule> ParseAll(IEnumerable<string>? rules)
    {
        var list = new List<EgressRule>();
        foreach (var text in rules ?? [])
        {
            var rule = ParseRule(text);
            if (!list.Contains(rule)) list.Add(rule);
        }
        return list;
    }

    private static List<EgressRule> Apply(IReadOnlyList<EgressRule> rules, IEnumerable<string>? add, IEnumerable<string>? remove, string list)
    {
        var result = rules.ToList();
        foreach (var rule in ParseAll(remove))
            if (!result.Remove(rule)) throw new FormatException($"'{rule}' is not on the {list} list");
        foreach (var rule in ParseAll(add))
            if (!result.Contains(rule)) result.Add(rule);
        return result;
    }
}
