namespace Switchyard.Packets.Dhcp;

/// <summary>The domain search list of option 119 (RFC 3397 §2): a sequence of DNS names in the
/// RFC 1035 §3.1 label encoding, compressed with RFC 1035 §4.1.4 pointers whose offsets count from
/// the start of the (concatenated, RFC 3396) option data.</summary>
public static class DhcpDomainSearch
{
    /// <summary>RFC 1035 §2.3.4: a label is at most 63 bytes, an encoded name at most 255.</summary>
    public const int MaxLabelLength = 63, MaxNameLength = 255;
    /// <summary>Pointers carry a 14-bit offset.</summary>
    private const int MaxPointerOffset = 0x3FFF;
    /// <summary>How many earlier label positions are remembered as compression targets.</summary>
    private const int MaxTargets = 256;

    /// <summary>Encodes <paramref name="domains"/> with compression into <paramref name="destination"/>.
    /// False (and nothing meaningful written) when a name is empty, not ASCII, has an empty or over-long
    /// label, or the result does not fit. A trailing dot ("a.example.") is accepted.</summary>
    public static bool TryEncode(ReadOnlySpan<string> domains, Span<byte> destination, out int written)
    {
        written = 0;
        Span<int> targets = stackalloc int[MaxTargets];
        int targetCount = 0;
        int pos = 0;
        foreach (string domain in domains)
        {
            ReadOnlySpan<char> name = domain.AsSpan();
            if (name.EndsWith(".")) name = name[..^1];
            if (name.IsEmpty || !IsValidName(name)) return false;

            // Find the longest suffix (fewest leading labels) that is already encoded somewhere.
            ReadOnlySpan<char> rest = name;
            int labelStart = 0, pointer = -1, literalChars = name.Length;
            while (true)
            {
                int match = FindSuffix(destination[..pos], targets[..targetCount], rest);
                if (match >= 0) { pointer = match; literalChars = labelStart == 0 ? 0 : labelStart - 1; break; }
                int dot = rest.IndexOf('.');
                if (dot < 0) break;
                rest = rest[(dot + 1)..];
                labelStart += dot + 1;
            }

            // Emit the literal labels, then either a pointer or the root label.
            ReadOnlySpan<char> literal = name[..literalChars];
            int nameStart = pos;
            while (!literal.IsEmpty)
            {
                int dot = literal.IndexOf('.');
                ReadOnlySpan<char> label = dot < 0 ? literal : literal[..dot];
                if (pos + 1 + label.Length > destination.Length) return false;
                if (pos <= MaxPointerOffset && targetCount < MaxTargets) targets[targetCount++] = pos;
                destination[pos++] = (byte)label.Length;
                foreach (char c in label) destination[pos++] = (byte)c;
                literal = dot < 0 ? default : literal[(dot + 1)..];
            }
            if (pointer >= 0)
            {
                if (pos + 2 > destination.Length) return false;
                destination[pos++] = (byte)(0xC0 | (pointer >> 8));
                destination[pos++] = (byte)pointer;
            }
            else
            {
                if (pos + 1 > destination.Length) return false;
                destination[pos++] = 0;
            }
            if (pointer < 0 && pos - nameStart > MaxNameLength) return false;
        }
        written = pos;
        return true;
    }

    /// <summary>The encoded length of <paramref name="domains"/> without compression: an upper bound.</summary>
    public static int MaxEncodedLength(ReadOnlySpan<string> domains)
    {
        int n = 0;
        foreach (string d in domains) n += d.Length + 2;
        return n;
    }

    private static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.Length + 2 > MaxNameLength) return false;
        int labelLength = 0;
        foreach (char c in name)
        {
            if (c == '.')
            {
                if (labelLength == 0) return false;
                labelLength = 0;
                continue;
            }
            if (c is <= ' ' or > '~') return false; // printable ASCII only; RFC 1035 §2.3.1 preferred syntax is narrower
            if (++labelLength > MaxLabelLength) return false;
        }
        return labelLength > 0;
    }

    /// <summary>An earlier label position whose name (following pointers) equals <paramref name="suffix"/>, or -1.</summary>
    private static int FindSuffix(ReadOnlySpan<byte> encoded, ReadOnlySpan<int> targets, ReadOnlySpan<char> suffix)
    {
        foreach (int t in targets)
        {
            if (NameEquals(encoded, t, suffix)) return t;
        }
        return -1;
    }

    private static bool NameEquals(ReadOnlySpan<byte> encoded, int offset, ReadOnlySpan<char> name)
    {
        int limit = offset; // pointers we wrote always point strictly backwards
        for (int steps = 0; steps < MaxNameLength; steps++)
        {
            if (offset >= encoded.Length) return false;
            byte len = encoded[offset];
            if (len == 0) return name.IsEmpty;
            if ((len & 0xC0) == 0xC0)
            {
                if (offset + 1 >= encoded.Length) return false;
                int target = ((len & 0x3F) << 8) | encoded[offset + 1];
                if (target >= limit) return false;
                offset = limit = target;
                continue;
            }
            if (offset + 1 + len > encoded.Length || name.Length < len) return false;
            if (name.Length > len && name[len] != '.') return false;
            for (int i = 0; i < len; i++)
            {
                if (char.ToLowerInvariant((char)encoded[offset + 1 + i]) != char.ToLowerInvariant(name[i])) return false;
            }
            name = name.Length > len ? name[(len + 1)..] : default;
            offset += 1 + len;
        }
        return false;
    }

    /// <summary>Decodes option 119 data (concatenated if it was split; RFC 3396) into
    /// <paramref name="domains"/>. False on truncation, label types other than 0b00/0b11, names over
    /// 255 bytes, or pointers that do not point strictly backwards (which rules out loops). On false,
    /// names decoded so far stay in the list.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, List<string> domains)
    {
        ArgumentNullException.ThrowIfNull(domains);
        Span<char> name = stackalloc char[MaxNameLength];
        int pos = 0;
        while (pos < data.Length)
        {
            int offset = pos, limit = pos, nameLength = 0, wire = 0;
            bool jumped = false;
            while (true)
            {
                if (offset >= data.Length) return false;
                byte len = data[offset];
                if (len == 0)
                {
                    if (!jumped) pos = offset + 1;
                    break;
                }
                switch (len & 0xC0)
                {
                    case 0xC0:
                        if (offset + 1 >= data.Length) return false;
                        int target = ((len & 0x3F) << 8) | data[offset + 1];
                        // Each jump must land before the run it came from: offsets strictly decrease, so no loops.
                        if (target >= limit) return false;
                        if (!jumped) { pos = offset + 2; jumped = true; }
                        offset = limit = target;
                        continue;
                    case 0x00:
                        break;
                    default:
                        return false; // 0b01 / 0b10: extended label types (RFC 6891 §5) are not valid here
                }
                if (offset + 1 + len > data.Length) return false;
                wire += 1 + len;
                if (wire + 1 > MaxNameLength) return false;
                if (nameLength > 0) name[nameLength++] = '.';
                foreach (byte b in data.Slice(offset + 1, len)) name[nameLength++] = (char)b;
                offset += 1 + len;
            }
            if (nameLength == 0) return false; // the root alone is not a search domain
            domains.Add(new string(name[..nameLength]));
        }
        return true;
    }
}
