namespace Switchyard.Packets;

/// <summary>The host-name syntax both sniffers accept and the one string they allocate: LDH labels plus
/// '_' (seen in real names), 1-63 bytes a label, 253 in all (RFC 1035 §2.3.4 without the root), one trailing
/// dot dropped, ASCII lower-cased (names compare case-insensitively, RFC 4343).</summary>
internal static class HostNameText
{
    public const int MaxLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>The name without its trailing dot, or false when it is not a host name.</summary>
    public static bool TryTrim(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> trimmed)
    {
        trimmed = !name.IsEmpty && name[^1] == (byte)'.' ? name[..^1] : name;
        if (trimmed.IsEmpty || trimmed.Length > MaxLength) return false;
        int label = 0;
        foreach (byte b in trimmed)
        {
            if (b == (byte)'.')
            {
                if (label == 0) return false; // empty label: leading dot or ".."
                label = 0;
            }
            else if (!IsNameByte(b) || ++label > MaxLabelLength) return false;
        }
        return label > 0;
    }

    private static bool IsNameByte(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'-' or (byte)'_';

    /// <summary>The only allocation of a successful parse. <paramref name="ascii"/> is already validated
    /// (at most <see cref="MaxLength"/> bytes, ASCII).</summary>
    public static string ToLowerString(ReadOnlySpan<byte> ascii)
    {
        Span<char> chars = stackalloc char[MaxLength];
        for (int i = 0; i < ascii.Length; i++)
        {
            byte b = ascii[i];
            chars[i] = (char)(b is >= (byte)'A' and <= (byte)'Z' ? b + ('a' - 'A') : b);
        }
        return new string(chars[..ascii.Length]);
    }
}
