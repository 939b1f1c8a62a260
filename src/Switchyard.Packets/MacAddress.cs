using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Switchyard.Packets;

/// <summary>A 48-bit IEEE 802 MAC address held in the low 48 bits of a <see cref="ulong"/>, so it
/// is a cheap dictionary key for the switch's learning table.</summary>
public readonly record struct MacAddress(ulong Value) : ISpanFormattable
{
    public const int Length = 6;

    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFFUL);
    public static readonly MacAddress Zero = new(0);

    public static MacAddress Read(ReadOnlySpan<byte> source) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source[2..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)Value);
    }

    /// <summary>The I/G bit (IEEE 802-2014 §8.2): set for group (multicast and broadcast) addresses.</summary>
    public bool IsMulticast => (Value & 0x0100_0000_0000UL) != 0;
    public bool IsBroadcast => Value == Broadcast.Value;

    /// <summary>A locally administered unicast address (the U/L bit set, I/G clear), as generated for guests.</summary>
    public static MacAddress LocallyAdministered(ReadOnlySpan<byte> random)
    {
        Span<byte> b = stackalloc byte[6];
        random[..6].CopyTo(b);
        b[0] = (byte)((b[0] | 0x02) & 0xFE);
        return Read(b);
    }

    public static bool TryParse(string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null || text.Length != 17) return false;
        ulong v = 0;
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && (text[i * 3 - 1] is not (':' or '-') || text[i * 3 - 1] != text[2])) return false;   // one separator throughout
            if (!byte.TryParse(text.AsSpan(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte part)) return false;
            v = (v << 8) | part;
        }
        mac = new MacAddress(v);
        return true;
    }

    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac) ? mac : throw new FormatException($"'{text}' is not a MAC address (expected six hex pairs such as 02:00:00:00:00:01)");

    public override string ToString() => ToString(null, null);

    public string ToString(string? format, IFormatProvider? formatProvider)
    {
        Span<char> buf = stackalloc char[17];
        TryFormat(buf, out int n, default, null);
        return new string(buf[..n]);
    }

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (destination.Length < 17) return false;
        for (int i = 0; i < 6; i++)
        {
            byte b = (byte)(Value >> (40 - 8 * i));
            if (i > 0) destination[charsWritten++] = ':';
            destination[charsWritten++] = "0123456789abcdef"[b >> 4];
            destination[charsWritten++] = "0123456789abcdef"[b & 0xF];
        }
        return true;
    }
}
