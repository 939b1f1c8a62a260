using System.Text;
using Switchyard.Packets.Http;
using Switchyard.Packets.Tests.Tls;

namespace Switchyard.Packets.Tests.Http;

public sealed class HttpRequestHeadTests
{
    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    private static ServerNameResult Parse(string head, out string? host) => HttpRequestHead.TryGetHost(Bytes(head), out host);

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: allowed.example\r\n\r\n", "allowed.example")]
    [InlineData("GET / HTTP/1.1\r\nHost: Allowed.EXAMPLE.\r\n\r\n", "allowed.example")]
    [InlineData("GET /x?y HTTP/1.1\r\nhost: allowed.example:8080\r\n\r\n", "allowed.example")]
    [InlineData("GET / HTTP/1.1\r\nHOST:allowed.example:\r\n\r\n", "allowed.example")] // empty port (RFC 3986 §3.2.3)
    [InlineData("GET / HTTP/1.1\r\nHost: \t allowed.example \t\r\n\r\n", "allowed.example")] // OWS
    [InlineData("GET / HTTP/1.1\r\nUser-Agent: curl/8\r\nHost: allowed.example\r\nAccept: */*\r\n\r\n", "allowed.example")]
    [InlineData("GET / HTTP/1.1\nHost: allowed.example\n\n", "allowed.example")] // LF only (RFC 9112 §2.2)
    [InlineData("GET / HTTP/1.1\r\nHost: allowed.example\n\r\n", "allowed.example")] // mixed
    [InlineData("GET / HTTP/1.0\r\nHost: allowed.example\r\n\r\n", "allowed.example")]
    [InlineData("POST /submit HTTP/1.1\r\nHost: 192.0.2.7:80\r\nContent-Length: 3\r\n\r\n", "192.0.2.7")]
    [InlineData("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", "2001:db8::1")] // brackets removed
    [InlineData("GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.1]\r\n\r\n", "::ffff:192.0.2.1")]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: allowed.example\r\n\r\n", "allowed.example")]
    [InlineData("M-SEARCH * HTTP/1.1\r\nHost: allowed.example\r\n\r\n", "allowed.example")] // any token is a method
    [InlineData("GET / HTTP/1.1\r\nX-Obs: caf\u00e9\r\nHost: allowed.example\r\n\r\n", "allowed.example")] // obs-text
    public void Host_header_is_found(string head, string expected)
    {
        Assert.Equal(ServerNameResult.Found, Parse(head, out string? host));
        Assert.Equal(expected, host);
    }

    [Theory]
    [InlineData("GET http://allowed.example/path HTTP/1.1\r\nHost: allowed.example\r\n\r\n", "allowed.example")]
    [InlineData("GET HTTP://Allowed.Example:8080?q HTTP/1.1\r\nHost: ALLOWED.example.:8080\r\n\r\n", "allowed.example")]
    [InlineData("GET http://allowed.example/ HTTP/1.1\r\nHost:\r\n\r\n", "allowed.example")] // empty Host
    [InlineData("GET https://[2001:db8::2]/ HTTP/1.1\r\n\r\n", "2001:db8::2")] // no Host at all
    [InlineData("CONNECT allowed.example:443 HTTP/1.1\r\nHost: allowed.example:443\r\n\r\n", "allowed.example")]
    [InlineData("CONNECT allowed.example:443 HTTP/1.1\r\n\r\n", "allowed.example")]
    public void Request_target_authority_is_the_name_when_host_agrees(string head, string expected)
    {
        // RFC 9112 §3.2.2 (absolute-form) and §3.2.3 (CONNECT's authority-form).
        Assert.Equal(ServerNameResult.Found, Parse(head, out string? host));
        Assert.Equal(expected, host);
    }

    /// <summary>Issue 16 finding 7: a server that reads Host despite RFC 9112 §3.2.2 would serve the other name.</summary>
    [Theory]
    [InlineData("GET http://allowed.example/path HTTP/1.1\r\nHost: blocked.example\r\n\r\n", "allowed.example")]
    [InlineData("GET HTTP://Allowed.Example:8080?q HTTP/1.1\r\nHost: other.example:8080\r\n\r\n", "Allowed.Example")]
    [InlineData("CONNECT allowed.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n", "allowed.example")]
    [InlineData("GET http://[2001:db8::2]/ HTTP/1.1\r\nHost: [2001:db8::3]\r\n\r\n", "2001:db8::2")]
    public void Request_target_authority_that_disagrees_with_host_is_a_mismatch(string head, string target)
    {
        Assert.Equal(HttpHeadStatus.AuthorityMismatch, HttpRequestHead.TryParse(Bytes(head), out var info));
        Assert.Equal(target, Encoding.ASCII.GetString(info.Host));
        Assert.Equal(ServerNameResult.Malformed, Parse(head, out _));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")]
    [InlineData("GET / HTTP/1.0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost:\r\n\r\n")] // empty Host: the target URI has no authority (RFC 9112 §3.2)
    [InlineData("GET / HTTP/1.1\r\nHost:   \r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nX-Host: allowed.example\r\nHostname: allowed.example\r\n\r\n")]
    public void Complete_head_without_host_is_absent(string head)
    {
        Assert.Equal(ServerNameResult.Absent, Parse(head, out string? host));
        Assert.Null(host);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n")] // RFC 9112 §3.2: 400
    [InlineData("GET / HTTP/1.1\r\nHost: a.example\r\nhOST: b.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: \r\nHost: b.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost : a.example\r\n\r\n")] // whitespace before colon (RFC 9112 §5.1)
    [InlineData("GET / HTTP/1.1\r\nX-A: 1\r\n b\r\nHost: a.example\r\n\r\n")] // obs-fold (§5.2)
    [InlineData("GET / HTTP/1.1\r\n Host: a.example\r\n\r\n")] // whitespace after the start line (§2.2)
    [InlineData("GET / HTTP/1.1\r\nHost: a.exa\u0001mple\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nX-A: \u0000\r\nHost: a.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nX-A: \u007f\r\nHost: a.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a.example\rX-A: b\r\n\r\n")] // bare CR
    [InlineData("GET / HTTP/1.1\r\nNoColon\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\n: empty-name\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: exa mple.test\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a..example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a%2eexample\r\n\r\n")] // percent-encoding refused
    [InlineData("GET / HTTP/1.1\r\nHost: caf\u00e9.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a.example:99999\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a.example:8o\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a.example:80:80\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: user@a.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: :80\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [2001:db8::1\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [v1.fe]\r\n\r\n")] // IPvFuture
    [InlineData("GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n")] // zone id
    [InlineData("GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.256]\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [2001:db8::1]x\r\n\r\n")]
    [InlineData("GET http://user@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n")] // userinfo (RFC 9110 §4.2.4)
    [InlineData("GET http:///x HTTP/1.1\r\nHost: a.example\r\n\r\n")] // empty authority
    [InlineData("GET http:a.example HTTP/1.1\r\nHost: a.example\r\n\r\n")]
    [InlineData("GET a.example:80 HTTP/1.1\r\nHost: a.example\r\n\r\n")] // authority-form is CONNECT's only
    [InlineData("CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n")] // CONNECT needs a port
    [InlineData("CONNECT /x HTTP/1.1\r\nHost: a.example\r\n\r\n")]
    [InlineData("GET /a\u0001b HTTP/1.1\r\nHost: a.example\r\n\r\n")]
    [InlineData("GET  / HTTP/1.1\r\nHost: a.example\r\n\r\n")] // empty target
    [InlineData("GET / HTTP/1.x\r\nHost: a.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1 \r\nHost: a.example\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\rHost: a.example\r\n\r\n")]
    public void Malformed_heads(string head)
    {
        Assert.Equal(ServerNameResult.Malformed, Parse(head, out string? host));
        Assert.Null(host);
    }

    [Theory]
    [InlineData("SSH-2.0-OpenSSH_9.6\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")] // a token and a space, but no HTTP-version
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")] // the HTTP/2 connection preface (RFC 9113 §3.4)
    [InlineData("GET /\r\n")] // HTTP/0.9
    [InlineData("GET / FTP/1.0\r\n")]
    [InlineData("EHLO mail.example\r\n")]
    [InlineData(" GET / HTTP/1.1\r\n")]
    [InlineData("get\t/ HTTP/1.1\r\n")]
    [InlineData("{\"json\": 1}")]
    public void Other_protocols_are_not_http(string head)
    {
        Assert.Equal(ServerNameResult.NotThisProtocol, Parse(head, out _));
    }

    [Fact]
    public void Tls_bytes_are_not_http()
    {
        byte[] hello = TlsTestHellos.HelloFor("allowed.example");
        Assert.Equal(ServerNameResult.NotThisProtocol, HttpRequestHead.TryGetHost(hello, out _));
        Assert.Equal(ServerNameResult.NotThisProtocol, HttpRequestHead.TryGetHost(hello.AsSpan(0, 1), out _));
        Assert.False(HttpRequestHead.LooksLikeHttp(hello));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: allowed.example:8080\r\nUser-Agent: test\r\n\r\n", ServerNameResult.Found)]
    [InlineData("GET http://allowed.example/ HTTP/1.1\nHost: allowed.example\n\n", ServerNameResult.Found)]
    [InlineData("\r\n\r\nGET / HTTP/1.1\r\nHost: allowed.example\r\n\r\n", ServerNameResult.Found)]
    [InlineData("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", ServerNameResult.Found)]
    [InlineData("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", ServerNameResult.Absent)]
    public void Every_proper_prefix_needs_more(string head, ServerNameResult final)
    {
        byte[] bytes = Bytes(head);
        for (int n = 0; n < bytes.Length; n++)
        {
            var r = HttpRequestHead.TryGetHost(bytes.AsSpan(0, n), out string? host);
            Assert.True(r == ServerNameResult.NeedMore, $"prefix {n}/{bytes.Length}: {r}");
            Assert.Null(host);
        }
        Assert.Equal(final, HttpRequestHead.TryGetHost(bytes, out _));
    }

    [Fact]
    public void Body_bytes_after_the_head_do_not_matter()
    {
        Assert.Equal(ServerNameResult.Found, Parse("POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 4\r\n\r\n\u0000\u0001\r\n", out string? host));
        Assert.Equal("a.example", host);
    }

    [Fact]
    public void Errors_are_reported_as_soon_as_they_are_certain()
    {
        string dup = "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\n";
        Assert.Equal(ServerNameResult.NeedMore, Parse(dup[..^1], out _));
        Assert.Equal(ServerNameResult.Malformed, Parse(dup, out _));
        Assert.Equal(ServerNameResult.Malformed, Parse("GET / HTTP/1.1\r\nX-A: \u0000", out _));
        Assert.Equal(ServerNameResult.Malformed, Parse("GET / HTTP/1.1\r\nHost: a\rb", out _));
        Assert.Equal(ServerNameResult.Malformed, Parse("GET / HTTP/1.1\r\nHost :", out _));
        Assert.Equal(ServerNameResult.NeedMore, Parse("SSH-2.0", out _)); // still a possible method token
        Assert.Equal(ServerNameResult.NotThisProtocol, Parse("SSH-2.0\r", out _));
        Assert.Equal(ServerNameResult.NotThisProtocol, Parse("GET / HTTP/2", out _));
        Assert.Equal(ServerNameResult.NotThisProtocol, Parse("\u0016", out _));
    }

    [Fact]
    public void Head_limit_is_MaxHeadLength()
    {
        string start = "GET / HTTP/1.1\r\nHost: a.example\r\nX-Pad: ";
        string end = "\r\n\r\n";
        string exact = start + new string('p', HttpRequestHead.MaxHeadLength - start.Length - end.Length) + end;
        Assert.Equal(HttpRequestHead.MaxHeadLength, exact.Length);
        Assert.Equal(ServerNameResult.Found, Parse(exact, out _));

        string over = start + new string('p', HttpRequestHead.MaxHeadLength - start.Length - end.Length + 1) + end;
        Assert.Equal(ServerNameResult.Malformed, Parse(over, out _));
        // Without the end of the head: NeedMore below the limit, Malformed once the limit is reached.
        string open = start + new string('p', 20_000);
        Assert.Equal(ServerNameResult.NeedMore, Parse(open[..(HttpRequestHead.MaxHeadLength - 1)], out _));
        Assert.Equal(ServerNameResult.Malformed, Parse(open[..HttpRequestHead.MaxHeadLength], out _));
        Assert.Equal(ServerNameResult.Malformed, Parse(open, out _));
        // A request line that never ends is over the limit too.
        Assert.Equal(ServerNameResult.Malformed, Parse("GET /" + new string('a', 20_000), out _));
    }

    [Theory]
    [InlineData("GET ", true)]
    [InlineData("PROPFIND /", true)]
    [InlineData("BASELINE-CONTROL /", true)]
    [InlineData("GET", false)]
    [InlineData("get /", false)]
    [InlineData("SSH-2.0-OpenSSH_9.2p1 Debian", false)]
    [InlineData(" GET", false)]
    [InlineData("", false)]
    public void LooksLikeHttp_wants_an_upper_case_method_and_a_space(string start, bool expected)
    {
        Assert.Equal(expected, HttpRequestHead.LooksLikeHttp(Bytes(start)));
    }
}
