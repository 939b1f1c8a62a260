using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Client;

/// <summary>What an egress rule names: one domain, a domain's subdomains, or an IP network.</summary>
public enum EgressRuleTarget { Name, Subdomains, Cidr }

/// <summary>
/// One egress rule: <c>DOMAIN</c> (that name), <c>*.DOMAIN</c> (its subdomains, not the name
/// itself) or <c>CIDR</c> (an IPv4 or IPv6 network; a bare address is a /32 or /128), each
/// optionally narrowed to <c>:PORT</c> and to <c>/tcp</c> or <c>/udp</c>. An IPv6 network with a
/// port goes in brackets: <c>[2001:db8::/32]:443/tcp</c>. <see cref="ToString"/> is the canonical
/// spelling, which is what is stored and what removing a rule matches against. Pure text to fields and
/// back: the CLI checks <c>--allow</c>/<c>--deny</c> with it before any daemon call, and the daemon turns it
/// into its data-plane form.
/// </summary>
public sealed record EgressRuleSpec(EgressRuleTarget Kind, string? Domain, IPNetwork Network, int Port, ProtocolType Protocol)
{
    public override string ToString()
    {
        string target = Kind switch
        {
            EgressRuleTarget.Name => Domain!,
            EgressRuleTarget.Subdomains => "*." + Domain,
            _ => Network.PrefixLength == (Network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) && Port == 0
                ? Network.BaseAddress.ToString() : Network.ToString(),
        };
        if (Port != 0 && Kind == EgressRuleTarget.Cidr && Network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6) target = $"[{target}]";
        if (Port != 0) target += ":" + Port.ToString(CultureInfo.InvariantCulture);
        if (Protocol != ProtocolType.Unspecified) target += Protocol == ProtocolType.Tcp ? "/tcp" : "/udp";
        return target;
    }

    public static EgressRuleSpec Parse(string text) =>
        TryParse(text, out var rule, out var error) ? rule : throw new FormatException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out EgressRuleSpec? rule, [NotNullWhen(false)] out string? error)
    {
        rule = null;
        error = null;
        string s = (text ?? "").Trim();
        if (s.Length == 0) { error = "an egress rule is empty"; return false; }
        string Fail(string why) => $"invalid egress rule '{s}': {why}";

        var protocol = ProtocolType.Unspecified;
        if (s.EndsWith("/tcp", StringComparison.OrdinalIgnoreCase)) { protocol = ProtocolType.Tcp; s = s[..^4]; }
        else if (s.EndsWith("/udp", StringComparison.OrdinalIgnoreCase)) { protocol = ProtocolType.Udp; s = s[..^4]; }

        // The port: after "]" for a bracketed IPv6 network, else after the last ':' when the rest holds no other ':'.
        string target = s;
        int port = 0;
        string? portText = null;
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']');
            if (close < 0) { error = Fail("a '[' without ']'"); return false; }
            target = s[1..close];
            string rest = s[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') { error = Fail("expected ':PORT' after ']'"); return false; }
                portText = rest[1..];
            }
        }
        else if (s.IndexOf(':') is var colon and >= 0 && s.IndexOf(':', colon + 1) < 0)
        {
            target = s[..colon];
            portText = s[(colon + 1)..];
        }
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            error = Fail($"'{portText}' is not a port (1-65535)");
            return false;
        }
        if (target.Length == 0) { error = Fail("no name or network before the port"); return false; }

        if (TryParseNetwork(target, out var network))
        {
            rule = new EgressRuleSpec(EgressRuleTarget.Cidr, null, network, port, protocol);
            return true;
        }
        if (target.Contains('/')) { error = Fail("not a CIDR network (host bits set, or a bad prefix length?)"); return false; }

        var kind = EgressRuleTarget.Name;
        string domain = target.TrimEnd('.').ToLowerInvariant();
        if (domain.StartsWith("*.", StringComparison.Ordinal)) { kind = EgressRuleTarget.Subdomains; domain = domain[2..]; }
        if (!IsDomainName(domain)) { error = Fail("expected DOMAIN, *.DOMAIN or CIDR, each optionally with :PORT and /tcp or /udp"); return false; }
        rule = new EgressRuleSpec(kind, domain, default, port, protocol);
        return true;
    }

    /// <summary>A CIDR network, or an address alone as a /32 or /128. Host bits set (10.0.0.1/8)
    /// are refused: a typo there is reported, not silently widened or narrowed.</summary>
    private static bool TryParseNetwork(string s, out IPNetwork network)
    {
        if (s.Contains('/'))
            return IPNetwork.TryParse(s, out network) && IPAddress.TryParse(s.AsSpan(0, s.IndexOf('/')), out var given) && given.Equals(network.BaseAddress);
        network = default;
        // "3" parses as 0.0.0.3: an address must look like one (a dot or a colon) to be taken as one.
        if (s.IndexOfAny(['.', ':']) < 0 || !IPAddress.TryParse(s, out var address)) return false;
        if (address.AddressFamily == AddressFamily.InterNetwork && s.Count(c => c == '.') != 3) return false;
        network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        return true;
    }

    /// <summary>Dot-separated labels of letters, digits, '-' and '_' (RFC 1035 §2.3.1 plus the
    /// underscore that service names use), 1-63 bytes each, 253 in all.</summary>
    private static bool IsDomainName(string name)
    {
        if (name.Length is 0 or > 253) return false;
        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (char c in label)
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        }
        return true;
    }
}
