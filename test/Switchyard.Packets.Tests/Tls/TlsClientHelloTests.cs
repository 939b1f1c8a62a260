using System.Security.Authentication;
using System.Text;
using Switchyard.Packets.Tls;
using static Switchyard.Packets.Tests.Tls.TlsTestHellos;

namespace Switchyard.Packets.Tests.Tls;

public sealed class TlsClientHelloTests
{
    private static ServerNameResult Parse(ReadOnlySpan<byte> stream, out string? name) => TlsClientHello.TryGetServerName(stream, out name);

    private static void AssertFound(byte[] stream, string expected)
    {
        Assert.Equal(ServerNameResult.Found, Parse(stream, out string? name));
        Assert.Equal(expected, name);
    }

    /// <summary>Every proper prefix is NeedMore (with no name), the whole input gives the final answer.</summary>
    private static void AssertNeedMoreUntilEnd(byte[] stream, ServerNameResult final, string? expected)
    {
        for (int n = 0; n < stream.Length; n++)
        {
            var r = Parse(stream.AsSpan(0, n), out string? name);
            Assert.True(r == ServerNameResult.NeedMore, $"prefix {n}/{stream.Length}: {r}");
            Assert.Null(name);
        }
        Assert.Equal(final, Parse(stream, out string? last));
        Assert.Equal(expected, last);
    }

    // --- Oracles: real TLS stacks ---

    [Theory]
    [InlineData("allowed.example", "allowed.example")]
    [InlineData("Allowed.Example", "allowed.example")]
    [InlineData("a-b_c.sub.allowed.example", "a-b_c.sub.allowed.example")]
    public async Task SslStream_hello_gives_its_target_host(string targetHost, string expected)
    {
        byte[] hello = await FromSslStream(targetHost);
        AssertFound(hello, expected);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task SslStream_hello_of_each_version_gives_its_target_host(SslProtocols protocols)
    {
        AssertFound(await FromSslStream("allowed.example", protocols), "allowed.example");
    }

    [Theory]
    [InlineData("192.0.2.1")]
    [InlineData("2001:db8::1")]
    public async Task SslStream_hello_for_an_ip_literal_has_no_server_name(string targetHost)
    {
        byte[] hello = await FromSslStream(targetHost);
        Assert.Equal(ServerNameResult.Absent, Parse(hello, out string? name));
        Assert.Null(name);
    }

    [OpensslFact]
    [InlineData("allowed.example", "allowed.example", "-tls1_3")]
    [InlineData("Allowed.Example", "allowed.example", "-tls1_2")]
    [InlineData("x.allowed.example", "x.allowed.example", "")]
    public async Task Openssl_hello_gives_its_servername(string serverName, string expected, string version)
    {
        string[] args = version == "" ? ["-servername", serverName] : ["-servername", serverName, version];
        byte[] hello = await FromOpenssl(args);
        AssertFound(hello, expected);
        AssertNeedMoreUntilEnd(hello, ServerNameResult.Found, expected);
    }

    [OpensslFact]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task Openssl_hello_without_servername_is_absent(string version)
    {
        Assert.Equal(ServerNameResult.Absent, Parse(await FromOpenssl("-noservername", version), out _));
    }

    // --- Splits ---

    [Fact]
    public async Task Every_proper_prefix_of_a_real_hello_needs_more()
    {
        byte[] hello = await FromSslStream("allowed.example");
        AssertNeedMoreUntilEnd(hello, ServerNameResult.Found, "allowed.example");
    }

    [Fact]
    public void Every_proper_prefix_of_a_hello_without_server_name_needs_more()
    {
        AssertNeedMoreUntilEnd(Hello(SupportedVersions), ServerNameResult.Absent, null);
    }

    [Fact]
    public async Task Bytes_after_the_hello_do_not_change_the_answer()
    {
        byte[] hello = await FromSslStream("allowed.example");
        // A change_cipher_spec record and garbage: not the ClientHello's business.
        AssertFound([.. hello, 0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0xFF, 0x00], "allowed.example");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(40)]
    [InlineData(-60)] // inside the extensions, counted from the end
    [InlineData(-1)]
    public async Task Hello_split_over_two_records(int cut)
    {
        byte[] handshake = HandshakeOf(await FromSslStream("allowed.example"));
        byte[] twoRecords = Records(handshake, cut > 0 ? cut : handshake.Length + cut);
        AssertNeedMoreUntilEnd(twoRecords, ServerNameResult.Found, "allowed.example");
    }

    [Fact]
    public async Task Hello_in_one_byte_records()
    {
        byte[] handshake = HandshakeOf(await FromSslStream("allowed.example"));
        byte[] records = Records(handshake, [.. Enumerable.Range(1, handshake.Length - 1)]);
        AssertFound(records, "allowed.example");
        // Every 7th prefix keeps the quadratic cost small (each call re-gathers from the start).
        for (int n = 0; n < records.Length; n += 7)
            Assert.Equal(ServerNameResult.NeedMore, Parse(records.AsSpan(0, n), out _));
    }

    [Fact]
    public void Large_hello_over_several_full_records()
    {
        // 12 KiB padding extension (21, RFC 7685) pushes the hello over one 2^14 record when it is cut there.
        byte[] handshake = Handshake(Body([SupportedVersions, (21, new byte[12_000]), (0, Sni("big.example"))]));
        AssertFound(Records(handshake, 4000, 8000), "big.example");
        AssertFound(Records(handshake), "big.example");
    }

    // --- What is and is not TLS ---

    [Theory]
    [InlineData("474554202f20485454502f312e310d0a")] // "GET / HTTP/1.1\r\n"
    [InlineData("5353482d322e302d4f70656e5353480d0a")] // "SSH-2.0-OpenSSH\r\n"
    [InlineData("80")] // SSLv2-compatible ClientHello header (RFC 5246 appendix E.2): not supported
    [InlineData("17")] // application data first
    [InlineData("1602")] // handshake type byte, but no 3.x version
    [InlineData("00")]
    public void Other_protocols_are_recognized_from_their_first_bytes(string hex)
    {
        Assert.Equal(ServerNameResult.NotThisProtocol, Parse(Convert.FromHexString(hex), out _));
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("16", false)]
    [InlineData("1603", true)]
    [InlineData("160301", true)]
    [InlineData("1703", false)]
    [InlineData("4745", false)]
    public void LooksLikeTls_needs_handshake_then_major_version_3(string hex, bool expected)
    {
        Assert.Equal(expected, TlsClientHello.LooksLikeTls(Convert.FromHexString(hex)));
    }

    // --- Names ---

    [Theory]
    [InlineData("allowed.example.", "allowed.example")]
    [InlineData("UPPER.Example", "upper.example")]
    [InlineData("192.0.2.1", "192.0.2.1")] // forbidden by RFC 6066 §3 but name-shaped: passed on for the caller's match
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    public void Names_are_normalized(string sent, string expected)
    {
        AssertFound(HelloFor(sent), expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("a.b..")]
    [InlineData("exa mple.test")]
    [InlineData("example.test\0evil.test")]
    [InlineData("bücher.example")]
    [InlineData("a:b")]
    [InlineData("a/b")]
    public void Names_that_are_not_host_names_are_malformed(string sent)
    {
        byte[] name = Encoding.UTF8.GetBytes(sent);
        Assert.Equal(ServerNameResult.Malformed, Parse(Hello((0, ServerNameList((0, name)))), out _));
    }

    [Fact]
    public void Name_length_limits()
    {
        string label63 = new('a', 63);
        string name253 = string.Join('.', label63, label63, label63, new string('b', 61));
        Assert.Equal(253, name253.Length);
        AssertFound(HelloFor(name253), name253);
        AssertFound(HelloFor(name253 + "."), name253);
        Assert.Equal(ServerNameResult.Malformed, Parse(HelloFor(name253 + "b"), out _));
        Assert.Equal(ServerNameResult.Malformed, Parse(HelloFor(new string('a', 64) + ".example"), out _));
    }

    [Fact]
    public void Unknown_name_types_are_skipped()
    {
        // RFC 6066 §3: future name types begin with a 16-bit length, so they can be stepped over.
        byte[] list = ServerNameList((7, [1, 2, 3]), (0, "allowed.example"u8.ToArray()));
        AssertFound(Hello((0, list)), "allowed.example");
        Assert.Equal(ServerNameResult.Absent, Parse(Hello((0, ServerNameList((7, [1, 2, 3])))), out _));
    }

    [Fact]
    public void Hello_without_extensions_or_without_server_name_is_absent()
    {
        Assert.Equal(ServerNameResult.Absent, Parse(Records(Handshake(Body(null))), out _)); // TLS 1.2: no block
        Assert.Equal(ServerNameResult.Absent, Parse(Hello(SupportedVersions), out _));
        Assert.Equal(ServerNameResult.Absent, Parse(Hello(), out _)); // empty block
    }

    // --- Malformed, and as soon as that is certain ---

    public static TheoryData<string, byte[]> MalformedHellos()
    {
        var data = new TheoryData<string, byte[]>
        {
            { "two server_name extensions", Hello((0, Sni("a.example")), (0, Sni("b.example"))) },
            { "two host_names in one list", Hello((0, ServerNameList((0, "a.example"u8.ToArray()), (0, "b.example"u8.ToArray())))) },
            { "empty server_name extension", Hello((0, [])) },
            { "empty server name list", Hello((0, [0, 0])) },
            { "list length short of the extension", Hello((0, [.. Sni("a.example"), 0])) },
            { "host_name of length 0", Hello((0, [0, 3, 0, 0, 0])) },
            { "handshake type server_hello", Records(Handshake(Body([(0, Sni("a.example"))]), type: 2)) },
            { "session id of 33", Records(Handshake(Body([(0, Sni("a.example"))], sessionIdLength: 33))) },
            { "record version 3.0", [0x16, 0x03, 0x00, 0x00, 0x10] },
            { "record version 3.5", [0x16, 0x03, 0x05] },
            { "zero-length record", [0x16, 0x03, 0x01, 0x00, 0x00] },
            { "record over 2^14+2048", [0x16, 0x03, 0x01, 0x48, 0x01] },
            { "hello over MaxHelloLength", [0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x40, 0x00] },
        };
        byte[] hello = HelloFor("a.example");
        byte[] trailing = Records([.. Handshake([.. Body([(0, Sni("a.example"))]), 0xFF])]);
        // Fix the extensions length so that it no longer reaches the end of the body.
        data.Add("bytes after the extensions", trailing);
        byte[] overrun = (byte[])hello.Clone();
        overrun[^(Sni("a.example").Length + 1)] = 0xFF; // server_name extension length low byte: runs past the end
        data.Add("extension overruns the block", overrun);
        byte[] odd = Records(Handshake(Body([(0, Sni("a.example"))])));
        odd[5 + 4 + 2 + 32 + 1 + 32 + 1] = 0x05; // cipher_suites length 5: odd
        data.Add("odd cipher suites length", odd);
        byte[] noCompression = Records(Handshake(Body([(0, Sni("a.example"))])));
        noCompression[5 + 4 + 2 + 32 + 1 + 32 + 2 + 6] = 0; // compression_methods length 0
        data.Add("no compression methods", noCompression);
        byte[] legacy = Records(Handshake(Body([(0, Sni("a.example"))])));
        legacy[9] = 0x02; // legacy_version 2.3
        data.Add("legacy_version 2.x", legacy);
        return data;
    }

    [Theory]
    [MemberData(nameof(MalformedHellos))]
    public void Malformed_hellos(string why, byte[] stream)
    {
        Assert.True(ServerNameResult.Malformed == Parse(stream, out string? name), why);
        Assert.Null(name);
    }

    [Fact]
    public void A_non_handshake_record_inside_the_hello_is_malformed_at_its_first_byte()
    {
        byte[] handshake = HandshakeOf(HelloFor("a.example"));
        byte[] records = Records(handshake, 20);
        int second = 5 + 20;
        records[second] = 0x17; // application_data where the rest of the ClientHello should be
        Assert.Equal(ServerNameResult.NeedMore, Parse(records.AsSpan(0, second), out _));
        Assert.Equal(ServerNameResult.Malformed, Parse(records.AsSpan(0, second + 1), out _));
    }

    [Fact]
    public void A_bad_length_is_malformed_before_the_rest_arrives()
    {
        byte[] bad = Records(Handshake(Body([(0, Sni("a.example"))], sessionIdLength: 33)));
        int sessionIdLengthAt = 5 + 4 + 2 + 32;
        Assert.Equal(ServerNameResult.NeedMore, Parse(bad.AsSpan(0, sessionIdLengthAt), out _));
        Assert.Equal(ServerNameResult.Malformed, Parse(bad.AsSpan(0, sessionIdLengthAt + 1), out _));
        // An oversized hello is refused from its handshake header alone.
        Assert.Equal(ServerNameResult.Malformed, Parse([0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x01, 0x00, 0x00], out _));
    }
}
