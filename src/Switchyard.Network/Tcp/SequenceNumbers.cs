namespace Switchyard.Network.Tcp;

/// <summary>TCP sequence number arithmetic, shared by the NAT's TCP (<c>Nat/TcpFlow</c>) and the
/// gateway's DNS over TCP (<c>Dns/DnsTcpResponder</c>). Sequence numbers live in a 32-bit space
/// that wraps, so they are compared modulo 2^32 (RFC 9293 §3.4): <c>a</c> is after <c>b</c> when
/// <c>a - b</c>, taken as a signed 32-bit number, is positive; this is RFC 1982's serial number
/// comparison for SERIAL_BITS = 32, valid while the two are less than 2^31 apart.</summary>
internal static class SequenceNumbers
{
    /// <summary>Whether <paramref name="a"/> comes after <paramref name="b"/> (a &gt; b modulo 2^32).</summary>
    public static bool After(uint a, uint b) => (int)(a - b) > 0;

    /// <summary>Whether <paramref name="a"/> is <paramref name="b"/> or comes before it (a ≤ b modulo 2^32).</summary>
    public static bool AtOrBefore(uint a, uint b) => (int)(a - b) <= 0;

    /// <summary>How far <paramref name="to"/> is past <paramref name="from"/>: negative when it is before.</summary>
    public static int Distance(uint from, uint to) => (int)(to - from);

    /// <summary>Whether an ACK acknowledges something new: SND.UNA &lt; SEG.ACK ≤ SND.NXT (RFC 9293 §3.10.7.4).</summary>
    public static bool AcknowledgesNew(uint ack, uint sndUna, uint sndNxt) => After(ack, sndUna) && AtOrBefore(ack, sndNxt);
}
