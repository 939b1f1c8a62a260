namespace Switchyard.Packets.Dns;

/// <summary>CLASS values (RFC 1035 §3.2.4). Only IN is served; an OPT record reuses the field for
/// the UDP payload size (RFC 6891 §6.1.2), so any number may appear here.</summary>
public enum DnsClass : ushort
{
    IN = 1,
}
