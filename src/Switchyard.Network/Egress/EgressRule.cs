using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Network.Egress;

public enum EgressRuleKind { Name, Subdomains, Cidr }

/// <summary>
/// One egress rule: a name (<see cref="EgressRuleKind.Name"/>), its subdomains, not the name itself
/// (<see cref="EgressRuleKind.Subdomains"/>), or an IPv4 or IPv6 network (<see cref="EgressRuleKind.Cidr"/>),
/// each optionally narrowed to a port (0: any) and to TCP or UDP (Unspecified: both). Built from fields:
/// the text form (<c>DOMAIN</c>, <c>*.DOMAIN</c>, <c>CIDR</c>, <c>[:PORT][/tcp|udp]</c>) is parsed by
/// Switchyard.Client's EgressRuleSpec and converted by the daemon (Daemon/Planning/RuleSpecs).
/// <see cref="ToString"/> is the canonical spelling, the same as EgressRuleSpec's (RuleSpecsTests checks
/// both agree), which is what is stored and what removing a rule matches against.
/// </summary>
public sealed record EgressRule(EgressRuleKind Kind, string? Domain, IPNetwork Network, int Port, ProtocolType Protocol)
{
    /// <summary>Whether a flow's protocol and port fall under the rule (port 0: any; protocol
    /// Unspecified: tcp and udp, and ICMP echo only for rules without a port).</summary>
    public bool Covers(ProtocolType protocol, int port)
    {
        if (Protocol != ProtocolType.Unspecified && Protocol != protocol) return false;
        if (Port == 0) return true;
        return protocol is ProtocolType.Tcp or ProtocolType.Udp && port == Port;
    }

    /// <summary>Name rules: whether <paramref name="name"/> (lower case, no trailing dot) is this
    /// name, or for <c>*.DOMAIN</c> one of its subdomains.</summary>
    public bool MatchesName(string name) => Kind switch
    {
        EgressRuleKind.Name => name.Equals(Domain, StringComparison.Ordinal),
        EgressRuleKind.Subdomains => name.Length > Domain!.Length + 1 && name.EndsWith(Domain, StringComparison.Ordinal)
            && name[name.Length - Domain.Length - 1] == '.',
        _ => false,
    };

    public bool MatchesAddress(IPAddress address) => Kind == EgressRuleKind.Cidr && Network.Contains(address);

    public override string ToString()
    {
        string target = Kind switch
        {
            EgressRuleKind.Name => Domain!,
            EgressRuleKind.Subdomains => "*." + Domain,
            _ => Network.PrefixLength == (Network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) && Port == 0
                ? Network.BaseAddress.ToString() : Network.ToString(),
        };
        if (Port != 0 && Kind == EgressRuleKind.Cidr && Network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6) target = $"[{target}]";
        if (Port != 0) target += ":" + Port.ToString(CultureInfo.InvariantCulture);
        if (Protocol != ProtocolType.Unspecified) target += Protocol == ProtocolType.Tcp ? "/tcp" : "/udp";
        return target;
    }
}
