namespace Switchyard.Packets.Dns;

/// <summary>Resource record TYPE and question QTYPE values (RFC 1035 §3.2.2/§3.2.3, RFC 3596 AAAA,
/// RFC 2782 SRV, RFC 6891 OPT). Other values pass through as plain numbers.</summary>
public enum DnsType : ushort
{
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    OPT = 41,
    ANY = 255,
}
