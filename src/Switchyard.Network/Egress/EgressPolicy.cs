using System.Net;
using System.Net.Sockets;

namespace Switchyard.Network.Egress;

/// <summary>A verdict and its reason, as the audit log records it.</summary>
public readonly record struct EgressVerdict(bool Allowed, string Reason, string? Name = null, bool Inspect = false)
{
    public static EgressVerdict Allow(string reason, string? name = null, bool inspect = false) => new(true, reason, name, inspect);
    public static EgressVerdict Deny(string reason, string? name = null) => new(false, reason, name);
}

/// <summary>
/// An egress policy: <see cref="DefaultAllow"/> false is an allowlist (only what <see cref="Allow"/>
/// names may leave), true a denylist (everything but what <see cref="Deny"/> names). Immutable:
/// an edit builds a new policy, which new flows see at once. See docs/egress.md.
/// </summary>
public sealed class EgressPolicy
{
    /// <summary>Ports of resolvers (DNS, DNS over TLS): a guest that asks another resolver than the
    /// gateway could learn addresses we never vetted, so they need a rule that names the port.</summary>
    private static readonly int[] ResolverPorts = [53, 853];

    /// <summary>A policy from its fields; the daemon builds it from the API's text (Daemon/Planning/RuleSpecs),
    /// which also drops duplicate rules.</summary>
    public EgressPolicy(bool defaultAllow, IReadOnlyList<EgressRule> allow, IReadOnlyList<EgressRule> deny)
    {
        DefaultAllow = defaultAllow;
        Allow = allow;
        Deny = deny;
        HasNameRules = allow.Concat(deny).Any(r => r.Kind != EgressRuleKind.Cidr);
        HasDenyNames = deny.Any(r => r.Kind != EgressRuleKind.Cidr);
    }

    public bool DefaultAllow { get; }
    public IReadOnlyList<EgressRule> Allow { get; }
    public IReadOnlyList<EgressRule> Deny { get; }
    private bool HasNameRules { get; }
    private bool HasDenyNames { get; }

    /// <summary>The default as the API spells it: "allow" (a denylist) or "deny" (an allowlist).</summary>
    public string DefaultText => DefaultAllow ? "allow" : "deny";

    /// <summary>Whether the gateway's DNS may resolve <paramref name="name"/> upstream. A name rule
    /// narrowed to a port still lets its name resolve; a deny rule must cover every port to hide it.</summary>
    public EgressVerdict CheckQuery(string name)
    {
        foreach (var rule in Deny)
            if (rule.MatchesName(name) && rule.Port == 0 && rule.Protocol == ProtocolType.Unspecified) return EgressVerdict.Deny("denied-name", name);
        if (DefaultAllow) return EgressVerdict.Allow("no-rule", name);
        foreach (var rule in Allow)
            if (rule.MatchesName(name)) return EgressVerdict.Allow("allowed-name", name);
        return EgressVerdict.Deny("name-not-allowed", name);
    }

    /// <summary>A new flow to <paramref name="destination"/>. <paramref name="pinned"/>: the names
    /// this guest resolved through our DNS to that address (still within their TTL and grace).
    /// An allow by name asks for the TLS SNI or HTTP Host to be checked too (Inspect).</summary>
    public EgressVerdict CheckFlow(ProtocolType protocol, IPAddress destination, int port, IReadOnlyList<string> pinned)
    {
        foreach (var rule in Deny)
        {
            if (!rule.Covers(protocol, port)) continue;
            if (rule.MatchesAddress(destination)) return EgressVerdict.Deny("denied-cidr");
            foreach (var name in pinned)
                if (rule.MatchesName(name)) return EgressVerdict.Deny("denied-name", name);
        }
        if (HasNameRules && protocol is ProtocolType.Tcp or ProtocolType.Udp && ResolverPorts.Contains(port))
            return AllowedCidr(protocol, destination, port, explicitPort: true) ? EgressVerdict.Allow("allowed-cidr") : EgressVerdict.Deny("dns-bypass");
        // QUIC carries its SNI encrypted: UDP to 443 needs an address rule (clients fall back to TCP).
        if (protocol == ProtocolType.Udp && port == 443 && (!DefaultAllow || HasDenyNames))
            return AllowedCidr(protocol, destination, port, explicitPort: false) ? EgressVerdict.Allow("allowed-cidr") : EgressVerdict.Deny("quic");
        if (DefaultAllow) return EgressVerdict.Allow("no-rule", pinned.Count > 0 ? pinned[0] : null, inspect: HasDenyNames);
        if (AllowedCidr(protocol, destination, port, explicitPort: false)) return EgressVerdict.Allow("allowed-cidr");
        bool nameRuleMatched = false;
        foreach (var name in pinned)
            foreach (var rule in Allow)
            {
                if (!rule.MatchesName(name)) continue;
                if (rule.Covers(protocol, port)) return EgressVerdict.Allow("allowed-name", name, inspect: true);
                nameRuleMatched = true;
            }
        return EgressVerdict.Deny(nameRuleMatched ? "port-not-allowed" : "not-resolved", pinned.Count > 0 ? pinned[0] : null);
    }

    private bool AllowedCidr(ProtocolType protocol, IPAddress destination, int port, bool explicitPort)
    {
        foreach (var rule in Allow)
            if (rule.MatchesAddress(destination) && rule.Covers(protocol, port) && (!explicitPort || rule.Port == port)) return true;
        return false;
    }

    /// <summary>The name a TCP flow's first bytes carry (TLS SNI, or HTTP Host; null when it has
    /// none), for a flow <see cref="CheckFlow"/> allowed by name: it must be allowed and be one of
    /// the names this guest resolved to the destination, so neither an allowed name sent to a
    /// foreign address nor a foreign name sent to an allowed address gets through.</summary>
    public EgressVerdict CheckServerName(string? serverName, bool tls, int port, IReadOnlyList<string> pinned)
    {
        string what = tls ? "sni" : "host";
        if (serverName is null) return DefaultAllow ? EgressVerdict.Allow("no-rule") : EgressVerdict.Deny($"no-{what}");
        foreach (var rule in Deny)
            if (rule.MatchesName(serverName) && rule.Covers(ProtocolType.Tcp, port)) return EgressVerdict.Deny("denied-name", serverName);
        if (DefaultAllow) return EgressVerdict.Allow("no-rule", serverName);
        if (!pinned.Contains(serverName)) return EgressVerdict.Deny($"{what}-mismatch", serverName);
        foreach (var rule in Allow)
            if (rule.MatchesName(serverName) && rule.Covers(ProtocolType.Tcp, port)) return EgressVerdict.Allow($"allowed-{what}", serverName);
        return EgressVerdict.Deny("name-not-allowed", serverName);
    }
}
