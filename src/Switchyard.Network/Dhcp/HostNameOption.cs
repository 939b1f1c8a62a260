namespace Switchyard.Network.Dhcp;

/// <summary>Turns a client's Host Name option (RFC 2132 section 3.14: "the name of the client",
/// any octets, often a bare label, sometimes a dotted name) into one DNS label (RFC 1035 section
/// 2.3.1, RFC 1123 section 2.1: letters, digits, hyphens, not at either end, at most 63), lower
/// case, so the gateway's DNS can answer it in the network's domain. What cannot become a label
/// gives no name rather than a mangled one that could look like another guest's.</summary>
public static class HostNameOption
{
    public const int MaxLabelLength = 63;

    /// <summary>The label, or null when the option is absent or holds nothing usable. A dotted name
    /// keeps its first label only (the network's domain is ours, not the client's); other octets
    /// become hyphens, runs of them one hyphen; past 63 characters the rest is cut.</summary>
    public static string? ToLabel(ReadOnlySpan<byte> option)
    {
        int dot = option.IndexOf((byte)'.');
        if (dot >= 0) option = option[..dot];
        Span<char> label = stackalloc char[MaxLabelLength];
        int n = 0;
        foreach (byte b in option)
        {
            if (b == 0) break;   // some clients NUL-terminate (RFC 2132 section 2 says they should not)
            char c = (char)b;
            if (c is >= 'A' and <= 'Z') c = (char)(c + 32);
            if (n == MaxLabelLength) break;   // longer names are cut (a clash is still refused by the pool)
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') label[n++] = c;
            else if (n > 0 && label[n - 1] != '-') label[n++] = '-';
        }
        while (n > 0 && label[n - 1] == '-') n--;
        return n == 0 ? null : new string(label[..n]);
    }
}
