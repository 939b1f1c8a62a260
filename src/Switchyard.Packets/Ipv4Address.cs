using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Packets;

/// <summary>An IPv4 address as a host-order <see cref="uint"/>: comparable, cheap to hash, and
/// free of the allocation that <see cref="IPAddress"/> costs on the data path.</summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    public const int Length = 4;
    public static readonly Ipv4Address Any = new(0);
    public static readonly Ipv4Address Broadcast = new(0xFFFF_FFFF);

    public static Ipv4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    public bool IsAny => Value == 0;
    public bool IsBroadcast => Value == 0xFFFF_FFFF;
    public bool IsMulticast => (Value >> 28) == 0xE;
    public bool IsLoopback => (Value >> 24) == 127;

    public static Ipv4Address FromIPAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        Span<byte> b = stackalloc byte[4];
        address.TryWriteBytes(b, out _);
        return Read(b);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[4];
        Write(b);
        return new IPAddress(b);
    }

    public static bool TryParse(string? text, out Ipv4Address address)
    {
        address = default;
        if (text is null || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork) return false;
        // IPAddress.TryParse accepts inet_aton forms: "1" or "1.2", and octal or hex parts, so
        // "010.0.0.1" would mean 8.0.0.1. Users mean dotted-decimal quads.
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (var part in parts)
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || (part.Length > 1 && part[0] == '0')) return false;
        address = FromIPAddress(ip);
        return true;
    }

    public static Ipv4Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv4 address");

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);
    public static Ipv4Address operator +(Ipv4Address a, uint offset) => new(a.Value + offset);

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}

/// <summary>An IPv4 prefix such as 192.168.64.0/24.</summary>
public readonly record struct Ipv4Subnet(Ipv4Address Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);
    public Ipv4Address MaskAddress => new(Mask);
    public Ipv4Address BroadcastAddress => new(Network.Value | ~Mask);
    /// <summary>The first usable address: the gateway's, by Switchyard's convention.</summary>
    public Ipv4Address FirstHost => new(Network.Value + 1);
    public Ipv4Address LastHost => new(BroadcastAddress.Value - 1);
    public bool Contains(Ipv4Address a) => (a.Value & Mask) == Network.Value;
    public bool Overlaps(Ipv4Subnet other)
    {
        uint m = PrefixLength < other.PrefixLength ? Mask : other.Mask;
        return (Network.Value & m) == (other.Network.Value & m);
    }

    public static bool TryParse(string? text, out Ipv4Subnet subnet, out string? error)
    {
        subnet = default;
        error = null;
        int slash = text?.IndexOf('/') ?? -1;
        if (text is null || slash < 0) { error = $"'{text}' is not a CIDR prefix (expected ADDRESS/LENGTH such as 192.168.64.0/24)"; return false; }
        if (!Ipv4Address.TryParse(text[..slash], out var addr)) { error = $"'{text}': '{text[..slash]}' is not an IPv4 address"; return false; }
        if (!int.TryParse(text[(slash + 1)..], out int len) || len < 0 || len > 32) { error = $"'{text}': prefix length must be 0..32"; return false; }
        subnet = new Ipv4Subnet(addr, len);
        if ((addr.Value & subnet.Mask) != addr.Value) { error = $"'{text}' has host bits set (did you mean {new Ipv4Address(addr.Value & subnet.Mask)}/{len}?)"; return false; }
        return true;
    }

    public static Ipv4Subnet Parse(string text) => TryParse(text, out var s, out var e) ? s : throw new FormatException(e);

    public override string ToString() => $"{Network}/{PrefixLength}";
}
