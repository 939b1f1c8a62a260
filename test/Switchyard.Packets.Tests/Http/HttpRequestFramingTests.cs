using System.Text;
using Switchyard.Packets.Http;

namespace Switchyard.Packets.Tests.Http;

/// <summary>Message boundaries of a client→server HTTP/1.x stream (RFC 9112 §6-§7): every head is found, whatever the
/// pieces the stream arrives in, and what cannot be framed safely is refused.</summary>
public sealed class HttpRequestFramingTests
{
    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>What a run of a stream saw: the host of every head in order, and how it ended ("idle" at a head boundary,
    /// "pending" inside a message, "opaque", "broken" chunked framing, or a refused head's status).</summary>
    private sealed record Seen(List<string> Hosts, string End);

    /// <summary>Drives the framing the way the egress inspection does: the held bytes start at the first unreleased
    /// byte; a head is parsed only whole; body bytes are released as they come. <paramref name="cuts"/>: where the
    /// stream is split into arrivals.</summary>
    private static Seen Run(byte[] stream, params int[] cuts)
    {
        var framing = new HttpRequestFraming();
        var hosts = new List<string>();
        int released = 0;
        foreach (int end in cuts.Append(stream.Length))
        {
            var held = stream.AsSpan(released, end - released);
            int pos = 0;
            while (pos < held.Length)
            {
                if (framing.AtHead)
                {
                    var status = HttpRequestHead.TryParse(held[pos..], out var head);
                    if (status == HttpHeadStatus.NeedMore) break;
                    if (status != HttpHeadStatus.Complete) return new(hosts, status.ToString());
                    hosts.Add(Encoding.ASCII.GetString(head.Host));
                    pos += head.Length;
                    framing.Begin(head);
                    continue;
                }
                int taken = framing.Consume(held[pos..]);
                if (taken < 0) return new(hosts, "broken");
                pos += taken;
                if (framing.IsOpaque) return new(hosts, "opaque");
            }
            released += pos;
        }
        return new(hosts, framing.AtHead && released == stream.Length ? "idle" : "pending");
    }

    /// <summary>The same stream whole, split in two at every byte, and one byte at a time: all must see the same.</summary>
    private static Seen RunEverySplit(string text)
    {
        byte[] stream = Bytes(text);
        var whole = Run(stream);
        for (int cut = 1; cut < stream.Length; cut++)
        {
            var split = Run(stream, cut);
            Assert.True(whole.End == split.End && whole.Hosts.SequenceEqual(split.Hosts),
                $"split at {cut}: {string.Join(',', split.Hosts)} {split.End}, whole: {string.Join(',', whole.Hosts)} {whole.End}");
        }
        var bytewise = Run(stream, [.. Enumerable.Range(1, stream.Length - 1)]);
        Assert.Equal(whole.Hosts, bytewise.Hosts);
        Assert.Equal(whole.End, bytewise.End);
        return whole;
    }

    private const string Pipelined =
        "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n" +
        "POST /x HTTP/1.1\r\nHost: b.example\r\nContent-Length: 30\r\n\r\nGET / HTTP/1.1\r\nHost: evil\r\n\r\n" +
        "\r\nGET / HTTP/1.0\r\nHost: c.example\r\n\r\n";

    [Fact]
    public void Pipelined_requests_are_all_seen_and_a_body_is_never_read_as_a_head()
    {
        var seen = RunEverySplit(Pipelined);
        Assert.Equal(["a.example", "b.example", "c.example"], seen.Hosts);
        Assert.Equal("idle", seen.End);
    }

    [Fact]
    public void Chunked_bodies_with_extensions_and_trailers_end_where_the_server_thinks()
    {
        var seen = RunEverySplit(
            "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "5;name=\"v; x\"\r\nhello\r\nA \t; e\r\n0123456789\r\n1e\r\nGET / HTTP/1.1\r\nHost: evil\r\n\r\n\r\n" +
            "000\r\nX-Sum: 1\r\nX-T:v\r\n\r\n" +
            "PUT / HTTP/1.1\r\nHost: b.example\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n0\r\n\r\n" +
            "GET / HTTP/1.1\r\nHost: c.example\r\n\r\n");
        Assert.Equal(["a.example", "b.example", "c.example"], seen.Hosts);
        Assert.Equal("idle", seen.End);
    }

    [Fact]
    public void A_partial_body_or_head_is_pending()
    {
        Assert.Equal("pending", Run(Bytes("POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 10\r\n\r\n12345")).End);
        Assert.Equal("pending", Run(Bytes("POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")).End);
        var partial = Run(Bytes("GET / HTTP/1.1\r\nHost: a.example\r\n\r\nGET / HTTP/1.1\r\nHost: b.exa"));
        Assert.Equal(["a.example"], partial.Hosts);
        Assert.Equal("pending", partial.End);
    }

    [Theory]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")]      // RFC 9112 §6.1: both
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")]
    [InlineData("Transfer-Encoding: gzip\r\n")]                              // §6.3 rule 4: chunked not final
    [InlineData("Transfer-Encoding: chunked, gzip\r\n")]
    [InlineData("Transfer-Encoding: chunked, chunked\r\n")]                  // §6.1: at most once
    [InlineData("Transfer-Encoding: identity\r\n")]                          // unknown (removed in RFC 7230)
    [InlineData("Transfer-Encoding: chunked;q=1\r\n")]
    [InlineData("Transfer-Encoding: xchunked\r\n")]
    [InlineData("Transfer-Encoding: \r\n")]
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")]
    [InlineData("Content-Length: 5, 5\r\n")]                                // RFC 9110 §8.6 lists: refused here
    [InlineData("Content-Length: 5\r\nContent-Length: 5\r\n")]
    [InlineData("Content-Length: -1\r\n")]
    [InlineData("Content-Length: +5\r\n")]
    [InlineData("Content-Length: 0x10\r\n")]
    [InlineData("Content-Length: \r\n")]
    [InlineData("Content-Length: 1234567890123456789\r\n")]                 // over 18 digits
    public void Unframeable_heads_are_refused(string fields)
    {
        string head = $"POST / HTTP/1.1\r\nHost: a.example\r\n{fields}\r\n";
        Assert.Equal(HttpHeadStatus.BadFraming, HttpRequestHead.TryParse(Bytes(head), out _));
        Assert.Equal(ServerNameResult.Malformed, HttpRequestHead.TryGetHost(Bytes(head), out _));
        // The same after an allowed request: the refusal comes at the second head.
        var seen = Run(Bytes("GET / HTTP/1.1\r\nHost: ok.example\r\n\r\n" + head));
        Assert.Equal(["ok.example"], seen.Hosts);
        Assert.Equal(nameof(HttpHeadStatus.BadFraming), seen.End);
    }

    [Fact]
    public void Transfer_encoding_in_http_1_0_is_faulty_framing()
    {
        // RFC 9112 §6.1: "MUST treat the message as if the framing is faulty".
        Assert.Equal(HttpHeadStatus.BadFraming,
            HttpRequestHead.TryParse(Bytes("POST / HTTP/1.0\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"), out _));
        // An HTTP/1.0 request without a length has no body (§6.3 rule 7): the next head follows at once.
        var seen = Run(Bytes("POST / HTTP/1.0\r\nHost: a.example\r\n\r\nGET / HTTP/1.0\r\nHost: b.example\r\n\r\n"));
        Assert.Equal(["a.example", "b.example"], seen.Hosts);
    }

    [Fact]
    public void Obs_fold_is_refused_in_heads_and_trailers()
    {
        Assert.Equal(HttpHeadStatus.Malformed,
            HttpRequestHead.TryParse(Bytes("GET / HTTP/1.1\r\nHost: a.example\r\nX-A: 1\r\n 2\r\n\r\n"), out _));
        Assert.Equal("broken", Run(Bytes("POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\n 2\r\n\r\n")).End);
    }

    [Theory]
    [InlineData("5\nhello\r\n0\r\n\r\n")]             // bare LF after the size
    [InlineData("5\r\nhello\n0\r\n\r\n")]             // bare LF after the data
    [InlineData("5\r\nhelloX\r\n0\r\n\r\n")]          // data longer than the size
    [InlineData(";x\r\nhello\r\n0\r\n\r\n")]          // no size
    [InlineData("g\r\n")]
    [InlineData("1000000000000000\r\n")]              // 16 hex digits
    [InlineData("5;a\u0001b\r\nhello\r\n0\r\n\r\n")]  // a control byte in an extension
    [InlineData("0\r\nX-A 1\r\n\r\n")]                // trailer without a colon
    [InlineData("0\r\nX-A : 1\r\n\r\n")]              // whitespace before the colon
    [InlineData("0\r\nX-A: 1\u0000\r\n\r\n")]
    [InlineData("0\r\n\r\r\n")]
    [InlineData("0\r\n\n")]
    public void Broken_chunked_framing_ends_the_connection(string body)
    {
        var seen = Run(Bytes("POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n" + body + "GET / HTTP/1.1\r\nHost: b.example\r\n\r\n"));
        Assert.Equal(["a.example"], seen.Hosts);
        Assert.Equal("broken", seen.End);
    }

    [Fact]
    public void Overlong_chunk_lines_and_trailers_are_refused()
    {
        string start = "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n";
        Assert.Equal("broken", Run(Bytes(start + "1;" + new string('e', HttpRequestFraming.MaxLineLength + 1))).End);
        Assert.Equal("pending", Run(Bytes(start + "1;" + new string('e', HttpRequestFraming.MaxLineLength - 1))).End);
        string trailers = string.Concat(Enumerable.Repeat("X-Pad: " + new string('p', 1000) + "\r\n", 20));
        Assert.Equal("broken", Run(Bytes(start + "0\r\n" + trailers)).End);
    }

    [Fact]
    public void After_a_switch_the_next_byte_decides_whether_the_stream_is_still_http()
    {
        const string Upgrade = "GET /ws HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        // 101 and a WebSocket frame (FIN + text, masked): opaque from here on.
        var ws = Run([.. Bytes(Upgrade), 0x81, 0x85, 1, 2, 3, 4, .. Bytes("GET / HTTP/1.1\r\nHost: b.example\r\n\r\n")]);
        Assert.Equal(["a.example"], ws.Hosts);
        Assert.Equal("opaque", ws.End);
        // The server ignored the Upgrade (no 101): a pipelined request is read and checked like any other.
        var ignored = RunEverySplit(Upgrade + "GET / HTTP/1.1\r\nHost: b.example\r\n\r\n");
        Assert.Equal(["a.example", "b.example"], ignored.Hosts);
        var crlf = Run(Bytes(Upgrade + "\r\nGET / HTTP/1.1\r\nHost: b.example\r\n\r\n"));
        Assert.Equal(["a.example", "b.example"], crlf.Hosts);
        // CONNECT and then a TLS record: the tunnel is opaque.
        var tunnel = Run([.. Bytes("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"), 0x16, 3, 1, 0, 5]);
        Assert.Equal(["a.example"], tunnel.Hosts);
        Assert.Equal("opaque", tunnel.End);
        // A switch after a body: the body first.
        var body = Run([.. Bytes("POST / HTTP/1.1\r\nHost: a.example\r\nUpgrade: x\r\nContent-Length: 3\r\n\r\nGET"), 0x00]);
        Assert.Equal("opaque", body.End);
        // Without Upgrade or CONNECT a non-token byte where a head must start is malformed, not opaque.
        var plain = Run([.. Bytes("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"), 0x16, 3, 1]);
        Assert.Equal(nameof(HttpHeadStatus.NotHttp), plain.End);
    }

    [Fact]
    public void Cleartext_http2_is_told_apart()
    {
        Assert.Equal(HttpHeadStatus.Http2Preface, HttpRequestHead.TryParse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, out _));
        Assert.Equal(HttpHeadStatus.NeedMore, HttpRequestHead.TryParse("PRI * HTTP/"u8, out _));
    }

    [Fact]
    public void Framing_and_parsing_allocate_nothing()
    {
        byte[] stream = Bytes(Pipelined + "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n");
        static int Walk(byte[] stream)
        {
            var framing = new HttpRequestFraming();
            int pos = 0, heads = 0;
            while (pos < stream.Length)
            {
                if (framing.AtHead)
                {
                    if (HttpRequestHead.TryParse(stream.AsSpan(pos), out var head) != HttpHeadStatus.Complete) return -1;
                    pos += head.Length;
                    heads++;
                    framing.Begin(head);
                }
                else pos += framing.Consume(stream.AsSpan(pos));
            }
            return heads;
        }
        Assert.Equal(4, Walk(stream));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Walk(stream);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Random streams of requests (Content-Length and chunked bodies of random bytes, trailers, empty lines,
    /// now and then a flipped byte): whatever the cuts, the same heads are seen and the run ends the same way.</summary>
    [Fact]
    public void Random_streams_read_the_same_whatever_the_cuts()
    {
        var rng = new Random(20261203);
        for (int round = 0; round < 2000; round++)
        {
            var text = new StringBuilder();
            int requests = rng.Next(1, 5);
            for (int r = 0; r < requests; r++)
            {
                if (rng.Next(4) == 0) text.Append("\r\n");
                string host = $"h{rng.Next(100)}.example";
                string body = new(Enumerable.Range(0, rng.Next(0, 40)).Select(_ => (char)rng.Next(0, 256)).ToArray());
                switch (rng.Next(3))
                {
                    case 0:
                        text.Append($"GET /{r} HTTP/1.1\r\nHost: {host}\r\n\r\n");
                        break;
                    case 1:
                        text.Append($"POST /{r} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {body.Length}\r\n\r\n{body}");
                        break;
                    default:
                        text.Append($"PUT /{r} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n");
                        if (body.Length > 0) text.Append($"{body.Length:x};r={r}\r\n{body}\r\n");
                        text.Append(rng.Next(2) == 0 ? "0\r\n\r\n" : "0\r\nX-T: 1\r\n\r\n");
                        break;
                }
            }
            byte[] stream = Encoding.Latin1.GetBytes(text.ToString());
            if (rng.Next(3) == 0) stream[rng.Next(stream.Length)] = (byte)rng.Next(256);
            var whole = Run(stream);
            int[] cuts = [.. Enumerable.Range(0, rng.Next(1, 6)).Select(_ => rng.Next(1, stream.Length)).Distinct().Order()];
            var split = Run(stream, cuts);
            Assert.True(whole.End == split.End && whole.Hosts.SequenceEqual(split.Hosts),
                $"round {round}, cuts {string.Join(',', cuts)}: {split.End} vs {whole.End}");
        }
    }
}
