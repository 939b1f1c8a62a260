using System.Security.Cryptography;
using System.Text;

namespace Switchyard.Cni;

/// <summary>Names the endpoint of a (container, interface) attachment. The name is stable, so a
/// retried ADD and the DEL find the same endpoint, and it is a valid endpoint name (a DNS label:
/// 1-63 of [a-z0-9-], no '-' at either end): the container id's first 12 usable characters (the
/// short id podman and nerdctl show), the interface, and 8 hex digits of a hash of both, so ids that
/// share a prefix or lose characters to the cleaning still get different names.</summary>
internal static class EndpointNames
{
    public const int MaxLabel = 63;

    public static string For(string containerId, string ifname)
    {
        string id = Clean(containerId, 12);
        string nic = Clean(ifname, 15);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{containerId}\0{ifname}"));
        string suffix = Convert.ToHexStringLower(hash.AsSpan(0, 4));
        var parts = new[] { id.Length > 0 ? id : "c", nic, suffix }.Where(p => p.Length > 0);
        return string.Join('-', parts);
    }

    /// <summary>A container name or alias as a DNS label (lower case, other characters as '-',
    /// '-' trimmed), or null when nothing of it is left. podman allows '_' and '.' in names: "web_1"
    /// answers as "web-1".</summary>
    public static string? AsLabel(string? name)
    {
        if (string.IsNullOrEmpty(name)) return null;
        var sb = new StringBuilder(name.Length);
        foreach (char c in name.ToLowerInvariant()) sb.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '-');
        var label = sb.ToString().Trim('-');
        if (label.Length > MaxLabel) label = label[..MaxLabel].TrimEnd('-');
        return label.Length == 0 ? null : label;
    }

    private static string Clean(string s, int max)
    {
        var sb = new StringBuilder(max);
        foreach (char c in s.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') sb.Append(c);
            if (sb.Length == max) break;
        }
        return sb.ToString();
    }
}
