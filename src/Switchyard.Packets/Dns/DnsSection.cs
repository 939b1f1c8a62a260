namespace Switchyard.Packets.Dns;

/// <summary>The record sections of a message, in wire order (RFC 1035 §4.1). The writer only moves
/// forward through them, because counts are per section and sections are contiguous.</summary>
public enum DnsSection
{
    Answer = 0,
    Authority = 1,
    Additional = 2,
}
