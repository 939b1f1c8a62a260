using Switchyard.Packets.Dns;

namespace Switchyard.Network.Dns;

/// <summary>Where the answer a guest got came from.</summary>
public enum DnsAnswerSource
{
    /// <summary>The gateway itself: our own names, the reverse zones, and every answer we
    /// synthesize (FORMERR, NOTIMP, REFUSED on an internal network, NXDOMAIN by egress policy,
    /// SERVFAIL when no upstream answered).</summary>
    Local,
    /// <summary>An upstream resolver answered this query.</summary>
    Forwarded,
    /// <summary>A cached upstream answer (<see cref="DnsCache"/>).</summary>
    Cache,
}

/// <summary>Replies a <see cref="DnsServer"/> sent, by source and by the response code of the
/// reply as it left (RFC 1035 §4.1.1, the header's 4-bit RCODE). Slots are allocated once;
/// counting is one Interlocked increment.</summary>
public sealed class DnsCounters
{
    private const int Sources = 3, Codes = 16;
    private readonly long[] _answers = new long[Sources * Codes];

    public long Answers(DnsAnswerSource source, DnsResponseCode rcode) =>
        Volatile.Read(ref _answers[Index(source, (int)rcode & 0xF)]);

    /// <summary>Counts the reply of <paramref name="length"/> bytes in <paramref name="response"/>
    /// (nothing when no reply is sent).</summary>
    internal void Count(DnsAnswerSource source, ReadOnlySpan<byte> response, int length)
    {
        if (length < 4) return;
        Interlocked.Increment(ref _answers[Index(source, response[3] & 0xF)]);
    }

    private static int Index(DnsAnswerSource source, int rcode) => (int)source * Codes + rcode;
}
