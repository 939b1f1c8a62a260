using System.Buffers.Binary;
using System.Net;

namespace Switchyard.Packets.Dns;

/// <summary>One resource record as read from a message (RFC 1035 §4.1.3). <see cref="Data"/> is a
/// slice of the message; names inside RDATA may be compressed against the whole message, so the
/// typed accessors decode them through <see cref="Message"/>.</summary>
public readonly ref struct DnsRecordView
{
    public DnsRecordView(ReadOnlySpan<byte> message, string name, DnsType type, DnsClass @class, uint ttl, int ttlOffset, int dataOffset, int dataLength)
    {
        Message = message;
        Name = name;
        Type = type;
        Class = @class;
        Ttl = ttl;
        TtlOffset = ttlOffset;
        DataOffset = dataOffset;
        Data = message.Slice(dataOffset, dataLength);
    }

    public ReadOnlySpan<byte> Message { get; }
    public string Name { get; }
    public DnsType Type { get; }
    /// <summary>The CLASS field; for <see cref="DnsType.OPT"/> this is the sender's UDP payload size (RFC 6891 §6.1.2).</summary>
    public DnsClass Class { get; }
    /// <summary>TTL as on the wire, except values with the top bit set read as 0 (RFC 2181 §8).</summary>
    public uint Ttl { get; }
    /// <summary>Offset of the 32-bit TTL field within the message, for in-place aging.</summary>
    public int TtlOffset { get; }
    public int DataOffset { get; }
    public ReadOnlySpan<byte> Data { get; }

    public bool TryGetIpv4(out Ipv4Address address)
    {
        address = default;
        if (Type != DnsType.A || Data.Length != 4) return false;
        address = Ipv4Address.Read(Data);
        return true;
    }

    /// <summary>RFC 3596 §2.2: AAAA RDATA is the 16-byte address.</summary>
    public bool TryGetIpv6(out IPAddress? address)
    {
        address = null;
        if (Type != DnsType.AAAA || Data.Length != 16) return false;
        address = new IPAddress(Data);
        return true;
    }

    /// <summary>The single domain name that is the RDATA of CNAME, PTR and NS (RFC 1035 §3.3).</summary>
    public bool TryGetTargetName(out string name)
    {
        name = "";
        if (Type is not (DnsType.CNAME or DnsType.PTR or DnsType.NS)) return false;
        return DnsWire.TryReadName(Message, DataOffset, out name, out int next) && next == DataOffset + Data.Length;
    }

    /// <summary>SRV RDATA (RFC 2782): priority, weight, port, target.</summary>
    public bool TryGetSrv(out ushort priority, out ushort weight, out ushort port, out string target)
    {
        priority = weight = port = 0;
        target = "";
        if (Type != DnsType.SRV || Data.Length < 7) return false;
        priority = BinaryPrimitives.ReadUInt16BigEndian(Data);
        weight = BinaryPrimitives.ReadUInt16BigEndian(Data[2..]);
        port = BinaryPrimitives.ReadUInt16BigEndian(Data[4..]);
        return DnsWire.TryReadName(Message, DataOffset + 6, out target, out int next) && next == DataOffset + Data.Length;
    }

    /// <summary>TXT RDATA (RFC 1035 §3.3.14): one or more length-prefixed character-strings, decoded as Latin-1
    /// so every byte maps to one char.</summary>
    public bool TryGetTxt(out string[] strings)
    {
        strings = [];
        if (Type != DnsType.TXT) return false;
        int count = 0;
        for (int p = 0; p < Data.Length; p += 1 + Data[p], count++)
            if (p + 1 + Data[p] > Data.Length) return false;
        var result = new string[count];
        int i = 0;
        for (int p = 0; p < Data.Length; p += 1 + Data[p])
            result[i++] = System.Text.Encoding.Latin1.GetString(Data.Slice(p + 1, Data[p]));
        strings = result;
        return true;
    }

    /// <summary>SOA RDATA (RFC 1035 §3.3.13).</summary>
    public bool TryGetSoa(out string mname, out string rname, out uint serial, out uint refresh, out uint retry, out uint expire, out uint minimum)
    {
        mname = rname = "";
        serial = refresh = retry = expire = minimum = 0;
        if (Type != DnsType.SOA) return false;
        int end = DataOffset + Data.Length;
        if (!DnsWire.TryReadName(Message, DataOffset, out mname, out int p) || p > end) return false;
        if (!DnsWire.TryReadName(Message, p, out rname, out p) || p + 20 != end) return false;
        serial = BinaryPrimitives.ReadUInt32BigEndian(Message[p..]);
        refresh = BinaryPrimitives.ReadUInt32BigEndian(Message[(p + 4)..]);
        retry = BinaryPrimitives.ReadUInt32BigEndian(Message[(p + 8)..]);
        expire = BinaryPrimitives.ReadUInt32BigEndian(Message[(p + 12)..]);
        minimum = BinaryPrimitives.ReadUInt32BigEndian(Message[(p + 16)..]);
        return true;
    }
}
