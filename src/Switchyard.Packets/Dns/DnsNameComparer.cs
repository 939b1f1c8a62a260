namespace Switchyard.Packets.Dns;

/// <summary>Equality and hashing of presentation-form names under RFC 4343 (ASCII case-insensitive,
/// trailing dot ignored), for dictionaries of local records.</summary>
public sealed class DnsNameComparer : IEqualityComparer<string>
{
    public static readonly DnsNameComparer Instance = new();

    private DnsNameComparer() { }

    public bool Equals(string? x, string? y) => DnsName.Equals(x, y);

    public int GetHashCode(string obj)
    {
        var hash = new HashCode();
        foreach (char c in DnsName.TrimRoot(obj)) hash.Add(DnsName.FoldCase(c));
        return hash.ToHashCode();
    }
}
