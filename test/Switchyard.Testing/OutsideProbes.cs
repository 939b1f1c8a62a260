using System.Text.Json;

namespace Switchyard.Testing;

/// <summary>Runs a program somewhere (the host, a guest namespace) with a timeout, never throwing on its exit code:
/// <see cref="Guest.TryExec"/> has this shape, and <see cref="OutsideProbes.OnHost"/> runs on the host.</summary>
public delegate Command.Result Runner(int timeoutMs, string program, params string[] args);

/// <summary>
/// The client side of the outside world's workloads (curl, iperf3, socat, ping and the python probes in
/// Outside/probes.py), written once and run from wherever a <see cref="Runner"/> runs them: from a guest through the
/// daemon (the NAT tests) or from the host straight over the veth (the fixture's own tests). Each returns what it saw;
/// the tests assert. Every call is bounded in time.
/// </summary>
public static class OutsideProbes
{
    public static Runner OnHost { get; } = (timeoutMs, program, args) => Command.Run(program, args, check: false, timeoutMs: timeoutMs);

    /// <summary>`curl -sS --fail` with a total time limit (and at most 10 s to connect); the result's StdOut is the body.</summary>
    public static Command.Result Http(Runner run, string url, int seconds = 10) =>
        run((seconds + 5) * 1000, "curl", "-sS", "--fail", "--connect-timeout", Math.Min(seconds, 10).ToString(), "--max-time", seconds.ToString(), url);

    /// <summary>Downloads <paramref name="url"/> through `sha256sum` (nothing is stored); returns curl's success and the hash.</summary>
    public static (bool Ok, string Sha256, string Error) DownloadSha256(Runner run, string url, int seconds = 120)
    {
        var r = run((seconds + 10) * 1000, "bash", "-c", "set -o pipefail; curl -sS --fail --connect-timeout 10 --max-time \"$1\" \"$2\" | sha256sum", "download", seconds.ToString(), url);
        return (r.ExitCode == 0, r.StdOut.Split(' ', 2)[0].Trim(), r.StdErr.Trim());
    }

    /// <summary>`iperf3 -c` for <paramref name="seconds"/> (<paramref name="reverse"/>: the server sends); returns the
    /// receiver's bits per second and iperf3's error, if any.</summary>
    public static (double BitsPerSecond, string? Error) Iperf(Runner run, string address, int port, int seconds, bool reverse)
    {
        string[] args = ["-c", address, "-p", port.ToString(), "-t", seconds.ToString(), "-J", "--connect-timeout", "5000"];
        var r = run((seconds + 20) * 1000, "iperf3", reverse ? [.. args, "-R"] : args);
        try
        {
            using var doc = JsonDocument.Parse(r.StdOut);
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out var error)) return (0, error.GetString());
            double bps = root.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
            return (bps, r.ExitCode == 0 ? null : $"exit {r.ExitCode}");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (0, $"exit {r.ExitCode}, unreadable output: {r.StdOut.Trim()} {r.StdErr.Trim()}");
        }
    }

    /// <summary>The result of <see cref="ConnectMany"/>: how many connected and echoed, and the errors by errno name.</summary>
    public sealed record ConnectManyResult(int Requested, int Connected, int Echoed, int Unfinished, IReadOnlyDictionary<string, int> Errors, double Seconds, string Raw);

    /// <summary><paramref name="count"/> connections at once to an echo server (<see cref="OutsideWorld.EchoPort"/>):
    /// each sends a byte and reads it back, all stay open until every one has, then all close. At most <paramref name="seconds"/>.</summary>
    public static ConnectManyResult ConnectMany(Runner run, string address, int port, int count, int seconds)
    {
        var r = Probe(run, (seconds + 15) * 1000, "connect-many", address, port.ToString(), count.ToString(), seconds.ToString());
        var j = r.Json;
        var errors = j.GetProperty("errors").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        return new ConnectManyResult(j.GetProperty("requested").GetInt32(), j.GetProperty("connected").GetInt32(), j.GetProperty("echoed").GetInt32(),
            j.GetProperty("unfinished").GetInt32(), errors, j.GetProperty("seconds").GetDouble(), r.Raw);
    }

    /// <summary>One TCP connect: "connected", "refused", "timeout" or an errno name, and how long it took (timed
    /// by the probe itself, so starting it is not counted). The wait is well above <see cref="Bounds.AtOnce"/>.</summary>
    public static (string Result, TimeSpan Elapsed) TcpConnect(Runner run, string address, int port, int seconds = 10)
    {
        var j = Probe(run, (seconds + 10) * 1000, "tcp-connect", address, port.ToString(), seconds.ToString()).Json;
        return (j.GetProperty("result").GetString()!, TimeSpan.FromSeconds(j.GetProperty("seconds").GetDouble()));
    }

    /// <summary>A token to a UDP echo server, 1 s per try: "echoed", "refused", "timeout" or "garbage".</summary>
    public static string UdpEcho(Runner run, string address, int port, int tries = 3) =>
        Probe(run, (tries + 10) * 1000, "udp-echo", address, port.ToString(), tries.ToString()).Json.GetProperty("result").GetString()!;

    /// <summary>One datagram to a closed UDP port: "refused" (the ICMP port unreachable came back), "timeout" or "answered", and how long it took
    /// (timed by the probe itself). The wait is well above <see cref="Bounds.AtOnce"/>.</summary>
    public static (string Result, TimeSpan Elapsed) UdpClosed(Runner run, string address, int port, int seconds = 10)
    {
        var j = Probe(run, (seconds + 10) * 1000, "udp-closed", address, port.ToString(), seconds.ToString()).Json;
        return (j.GetProperty("result").GetString()!, TimeSpan.FromSeconds(j.GetProperty("seconds").GetDouble()));
    }

    /// <summary>
    /// Half-close through socat: sends <paramref name="file"/> to a reply-after-EOF server
    /// (<see cref="OutsideWorld.ReplyAfterEofPort"/>), socat shuts down its write side at the file's end and keeps
    /// reading; the server answers only after that FIN, with everything it got. Returns socat's success and the
    /// SHA-256 of what came back (equal to the file's when the whole reply arrived).
    /// </summary>
    public static (bool Ok, string Sha256, string Error) HalfClose(Runner run, string address, int port, string file, int seconds = 30)
    {
        var r = run((seconds + 10) * 1000, "bash", "-c", "set -o pipefail; timeout \"$1\" socat -t \"$1\" -T \"$1\" - \"TCP:$2:$3,connect-timeout=10\" < \"$4\" | sha256sum",
            "halfclose", seconds.ToString(), address, port.ToString(), file);
        return (r.ExitCode == 0, r.StdOut.Split(' ', 2)[0].Trim(), r.StdErr.Trim());
    }

    /// <summary>What <see cref="TlsHello"/> saw: "answered" (a ServerHello came back), "alert", "reset", "closed",
    /// "refused", "timeout" or an errno name; how many of the hello's bytes went out, and how long it all took.</summary>
    public sealed record TlsHelloResult(string Result, int Sent, int HelloBytes, TimeSpan Elapsed, string Raw);

    /// <summary>
    /// A genuine TLS ClientHello (python's ssl module, server_hostname = <paramref name="sni"/>; null: no SNI) to
    /// <paramref name="address"/>:<paramref name="port"/>, <paramref name="segment"/> bytes per send() with TCP_NODELAY
    /// and <paramref name="gapMs"/> ms between sends, so each piece is its own TCP segment (an SNI check must reassemble
    /// the stream); then whether the server answered with a ServerHello. At most <paramref name="seconds"/>.
    /// </summary>
    public static TlsHelloResult TlsHello(Runner run, string address, int port, string? sni, int segment = 1, int gapMs = 2, int seconds = 15)
    {
        var (j, raw) = Probe(run, (seconds + 10) * 1000, "tls-hello", address, port.ToString(), sni ?? "-", segment.ToString(), gapMs.ToString(), seconds.ToString());
        return new TlsHelloResult(j.GetProperty("result").GetString()!, j.GetProperty("sent").GetInt32(), j.GetProperty("hello").GetInt32(),
            TimeSpan.FromSeconds(j.GetProperty("seconds").GetDouble()), raw);
    }

    /// <summary>`ping`, expecting every one of COUNT echoes back (<see cref="Testing.Ping.ExpectingReplies"/>: a deadline, not a per-reply wait).</summary>
    public static (bool Ok, string Output) Ping(Runner run, string address, int count = 3)
    {
        var r = run(30_000, "ping", Testing.Ping.ExpectingReplies(address, count));
        return (r.ExitCode == 0 && r.StdOut.Contains($"{count} received", StringComparison.Ordinal), r.StdOut + r.StdErr);
    }

    private static (JsonElement Json, string Raw) Probe(Runner run, int timeoutMs, params string[] args)
    {
        var r = run(timeoutMs, "python3", ["-c", Scripts.Probes, .. args]);
        string line = r.StdOut.Trim();
        try
        {
            using var doc = JsonDocument.Parse(line);
            return (doc.RootElement.Clone(), line);
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"probe {args[0]} failed (exit {r.ExitCode}): {line} {r.StdErr.Trim()}");
        }
    }
}
