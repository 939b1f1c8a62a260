namespace Switchyard.Packets.Dns;

/// <summary>A question entry (RFC 1035 §4.1.2). <see cref="Name"/> is in presentation form without
/// the trailing dot ("" for the root), case preserved as on the wire (RFC 4343 §4.1).</summary>
public readonly record struct DnsQuestion(string Name, DnsType Type, DnsClass Class);
