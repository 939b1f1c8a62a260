namespace Switchyard.Packets.Dhcp;

/// <summary>DHCP message types, the value of option 53 (RFC 2132 §9.6).</summary>
public enum DhcpMessageType : byte
{
    Discover = 1,
    Offer,
    Request,
    Decline,
    Ack,
    Nak,
    Release,
    Inform,
}

/// <summary>DHCP option codes (RFC 2132; RFC 3397 for 119).</summary>
public static class DhcpOption
{
    /// <summary>RFC 2132 §3.1: a single zero byte, no length.</summary>
    public const byte Pad = 0;
    /// <summary>RFC 2132 §3.3.</summary>
    public const byte SubnetMask = 1;
    /// <summary>RFC 2132 §3.5: one or more addresses, in order of preference.</summary>
    public const byte Router = 3;
    /// <summary>RFC 2132 §3.8.</summary>
    public const byte DomainNameServer = 6;
    /// <summary>RFC 2132 §3.14.</summary>
    public const byte HostName = 12;
    /// <summary>RFC 2132 §3.17.</summary>
    public const byte DomainName = 15;
    /// <summary>RFC 2132 §5.1: a 16-bit MTU, minimum 68.</summary>
    public const byte InterfaceMtu = 26;
    /// <summary>RFC 2132 §5.3.</summary>
    public const byte BroadcastAddress = 28;
    /// <summary>RFC 2132 §9.1.</summary>
    public const byte RequestedIpAddress = 50;
    /// <summary>RFC 2132 §9.2: seconds, 32-bit.</summary>
    public const byte LeaseTime = 51;
    /// <summary>RFC 2132 §9.3. Not honoured: sname/file are never searched for options.</summary>
    public const byte OptionOverload = 52;
    /// <summary>RFC 2132 §9.6.</summary>
    public const byte MessageType = 53;
    /// <summary>RFC 2132 §9.7.</summary>
    public const byte ServerIdentifier = 54;
    /// <summary>RFC 2132 §9.8: a list of option codes the client wants.</summary>
    public const byte ParameterRequestList = 55;
    /// <summary>RFC 2132 §9.10: 16-bit, minimum 576.</summary>
    public const byte MaxMessageSize = 57;
    /// <summary>RFC 2132 §9.11: T1, seconds.</summary>
    public const byte RenewalTime = 58;
    /// <summary>RFC 2132 §9.12: T2, seconds.</summary>
    public const byte RebindingTime = 59;
    /// <summary>RFC 2132 §9.14: type byte followed by an identifier, minimum length 2.</summary>
    public const byte ClientIdentifier = 61;
    /// <summary>RFC 3397: the domain search list, DNS-encoded names with compression.</summary>
    public const byte DomainSearch = 119;
    /// <summary>RFC 2132 §3.2: a single 255 byte, no length.</summary>
    public const byte End = 255;
}

/// <summary>Offsets and constants of the fixed BOOTP/DHCP header (RFC 2131 §2, figure 1).</summary>
public static class DhcpLayout
{
    public const int OpOffset = 0, HtypeOffset = 1, HlenOffset = 2, HopsOffset = 3, XidOffset = 4, SecsOffset = 8, FlagsOffset = 10;
    public const int CiaddrOffset = 12, YiaddrOffset = 16, SiaddrOffset = 20, GiaddrOffset = 24, ChaddrOffset = 28, ChaddrLength = 16;
    public const int SnameOffset = 44, SnameLength = 64, FileOffset = 108, FileLength = 128;
    /// <summary>RFC 2131 §3: the options field starts with the magic cookie 99.130.83.99.</summary>
    public const int CookieOffset = 236;
    public const uint MagicCookie = 0x63825363;
    public const int OptionsOffset = 240;
    /// <summary>The smallest BOOTP message (RFC 1542 §3.1.1: relays and many clients expect at least 300 bytes).</summary>
    public const int MinimumMessageLength = 300;
    public const byte BootRequest = 1, BootReply = 2;
    /// <summary>ARP hardware type 1, Ethernet (RFC 1700 "Hardware Type"), with a 6-byte hlen.</summary>
    public const byte HardwareTypeEthernet = 1, HardwareLengthEthernet = 6;
    /// <summary>RFC 2131 §2 figure 2: the leftmost bit of flags is BROADCAST.</summary>
    public const ushort BroadcastFlag = 0x8000;
    public const int ServerPort = 67, ClientPort = 68;
}
