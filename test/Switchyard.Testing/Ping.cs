namespace Switchyard.Testing;

/// <summary>
/// The arguments of every `ping` a test runs, in one place, because iputils' ping ends its wait in two
/// different ways and a test that expects replies needs the other one than a test that expects none.
/// </summary>
/// <remarks>
/// With a deadline (<c>-w</c>), ping waits until all COUNT replies are in (and ends then) or the deadline
/// passes; an ICMP error ends it at once. With only a per-reply wait (<c>-W</c>), ping stops waiting once one
/// reply is in: after its last request it lingers only max(2 × the slowest round trip so far, the interval),
/// so on a loaded machine replies that come 300 ms late are counted lost ("3 packets transmitted, 1
/// received"; OutsideWorldTests.Ping_waits_for_replies_that_come_late). A test that expects no reply at all
/// gets none either way, and <c>-W</c> bounds its wait at 2 s per request instead of the whole deadline.
/// </remarks>
public static class Ping
{
    /// <summary>How long a ping that expects replies may wait for all of them.</summary>
    public const int DeadlineSeconds = 10;

    /// <summary>`ping -c COUNT -i 0.2 -w 10 [-I FROM] TARGET`: exits 0 when every reply came back.</summary>
    public static string[] ExpectingReplies(string target, int count, string? from = null, params string[] extra) =>
        ["-c", count.ToString(), "-i", "0.2", "-w", DeadlineSeconds.ToString(), .. extra, .. From(from), target];

    /// <summary>`ping -c COUNT -i 0.2 -W 2 [-I FROM] TARGET`: for a test that expects no reply at all
    /// (read the result with <see cref="NoneReceived"/>).</summary>
    public static string[] ExpectingNone(string target, int count, string? from = null) =>
        ["-c", count.ToString(), "-i", "0.2", "-W", "2", .. From(from), target];

    /// <summary>True when ping's summary says not one reply came back ("N packets transmitted, 0 received").</summary>
    public static bool NoneReceived(Command.Result r) =>
        r.StdOut.Contains(" 0 received", StringComparison.Ordinal) && r.ExitCode != 0;

    private static string[] From(string? from) => from is null ? [] : ["-I", from];
}
