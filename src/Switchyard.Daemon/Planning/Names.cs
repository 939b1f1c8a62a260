using System.Text.RegularExpressions;

namespace Switchyard.Daemon.Planning;

/// <summary>Validation of the names users give: a network's and an endpoint's name become DNS
/// labels (the endpoint's host name, the network's default domain), so both follow RFC 1123
/// §2.1 host name rules, lower case.</summary>
public static partial class Names
{
    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex Label();

    [GeneratedRegex(@"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DomainName();

    /// <summary>Names the gateway answers for itself on every network.</summary>
    public static readonly string[] Reserved = ["gateway", "host"];

    public static string? CheckLabel(string what, string? name)
    {
        if (string.IsNullOrEmpty(name)) return $"{what} name is required";
        if (!Label().IsMatch(name))
            return $"invalid {what} name '{name}': use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit";
        return null;
    }

    public static string? CheckDomain(string domain) =>
        domain.Length <= 253 && DomainName().IsMatch(domain) ? null : $"invalid domain '{domain}': use dot-separated lower-case DNS labels";
}
