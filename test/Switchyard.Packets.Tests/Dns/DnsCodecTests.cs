using System.Buffers.Binary;
using System.Net;
using Switchyard.Packets.Dns;

namespace Switchyard.Packets.Tests.Dns;

public sealed class DnsCodecTests
{
    [Fact]
    public void Round_trip_of_every_record_type()
    {
        byte[] m = DnsTestMessages.AllTypes();
        var r = new DnsMessageReader(m);
        Assert.True(r.TryReadHeader(out var h));
        Assert.Equal(0x1234, h.Id);
        Assert.True(h.IsResponse);
        Assert.True(h.RecursionDesired);
        Assert.True(h.Authoritative);
        Assert.False(h.Truncated);
        Assert.Equal(DnsResponseCode.NoError, h.ResponseCode);
        Assert.Equal((1, 6, 1, 2), (h.QuestionCount, h.AnswerCount, h.AuthorityCount, h.AdditionalCount));

        Assert.True(r.TryReadQuestion(out var q));
        Assert.Equal(new DnsQuestion("host.sy.test", DnsType.A, DnsClass.IN), q);

        Assert.True(r.TryReadRecord(out var a));
        Assert.Equal(("host.sy.test", DnsType.A, DnsClass.IN, 300u), (a.Name, a.Type, a.Class, a.Ttl));
        Assert.True(a.TryGetIpv4(out var v4));
        Assert.Equal(Ipv4Address.Parse("192.0.2.10"), v4);
        Assert.Equal(300u, BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(a.TtlOffset)));

        Assert.True(r.TryReadRecord(out var aaaa));
        Assert.True(aaaa.TryGetIpv6(out var v6));
        Assert.Equal(IPAddress.Parse("2001:db8::10"), v6);
        Assert.Equal(200u, aaaa.Ttl);

        Assert.True(r.TryReadRecord(out var cname));
        Assert.Equal(("alias.sy.test", DnsType.CNAME), (cname.Name, cname.Type));
        Assert.True(cname.TryGetTargetName(out string ct));
        Assert.Equal("host.sy.test", ct);

        Assert.True(r.TryReadRecord(out var ptr));
        Assert.Equal("10.2.0.192.in-addr.arpa", ptr.Name);
        Assert.True(ptr.TryGetTargetName(out string pt));
        Assert.Equal("host.sy.test", pt);

        Assert.True(r.TryReadRecord(out var srv));
        Assert.True(srv.TryGetSrv(out ushort prio, out ushort weight, out ushort port, out string target));
        Assert.Equal((10, 20, 5060, "host.sy.test"), (prio, weight, port, target));
        Assert.Equal(6 + 14, srv.Data.Length); // RFC 2782: target not compressed

        Assert.True(r.TryReadRecord(out var txt));
        Assert.True(txt.TryGetTxt(out string[] strings));
        Assert.Equal(["hello world", "second", ""], strings);

        Assert.True(r.TryReadRecord(out var soa));
        Assert.Equal(("sy.test", DnsType.SOA, 700u), (soa.Name, soa.Type, soa.Ttl));
        Assert.True(soa.TryGetSoa(out string mname, out string rname, out uint serial, out uint refresh, out uint retry, out uint expire, out uint minimum));
        Assert.Equal(("ns.sy.test", "hostmaster.sy.test", 2024010101u, 3600u, 600u, 86400u, 60u), (mname, rname, serial, refresh, retry, expire, minimum));

        Assert.True(r.TryReadRecord(out var glue));
        Assert.Equal("ns.sy.test", glue.Name);
        Assert.True(r.TryReadRecord(out var opt));
        Assert.Equal((DnsType.OPT, "", (DnsClass)1232), (opt.Type, opt.Name, opt.Class));
        Assert.Equal(m.Length, r.Position);
        Assert.False(r.TryReadRecord(out _));
    }

    [Fact]
    public void Compression_is_used_and_shrinks_the_message()
    {
        byte[] m = DnsTestMessages.AllTypes();
        // The same records with every name spelled out: the sum of the uncompressed names.
        int uncompressed = UncompressedLength(m);
        Assert.True(m.Length < uncompressed - 50, $"{m.Length} vs {uncompressed}");
        Assert.Contains((byte)0xC0, m);
        Assert.True(DnsTestMessages.CountPointers(m) >= 8);
        // The answer owner "host.sy.test" is the question name: one pointer to offset 12.
        int answer = DnsHeader.Length + 14 + 4;
        Assert.Equal([0xC0, 0x0C], m[answer..(answer + 2)]);
    }

    private static int UncompressedLength(byte[] m)
    {
        var r = new DnsMessageReader(m);
        r.TryReadHeader(out var h);
        int length = DnsHeader.Length;
        for (int i = 0; i < h.QuestionCount; i++)
        {
            r.TryReadQuestion(out var q);
            length += Wire(q.Name) + 4;
        }
        for (int i = 0; i < h.AnswerCount + h.AuthorityCount + h.AdditionalCount; i++)
        {
            r.TryReadRecord(out var rec);
            length += Wire(rec.Name) + 10 + rec.Data.Length;
            if (rec.TryGetTargetName(out string t)) length += Wire(t) - rec.Data.Length;
            if (rec.TryGetSoa(out string mn, out string rn, out _, out _, out _, out _, out _)) length += Wire(mn) + Wire(rn) + 20 - rec.Data.Length;
        }
        return length;
        static int Wire(string name) => name.Length == 0 ? 1 : name.Length + 2;
    }

    [Theory]
    [InlineData("host.sy.test", DnsType.A)]
    [InlineData("host.sy.test.", DnsType.AAAA)]
    [InlineData("", DnsType.NS)]
    [InlineData("a\\.b.test", DnsType.TXT)]
    [InlineData("x\\032y.test", DnsType.A)]
    [InlineData("_sip._udp.sy.test", DnsType.SRV)]
    [InlineData("MiXeD.Case.Test", DnsType.A)]
    public void Question_names_round_trip(string name, DnsType type)
    {
        byte[] m = DnsTestMessages.Query(name, type);
        var r = new DnsMessageReader(m);
        Assert.True(r.TryReadHeader(out _));
        Assert.True(r.TryReadQuestion(out var q));
        Assert.Equal(name.TrimEnd('.'), q.Name);
        Assert.Equal(type, q.Type);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("h\u00e9.test")]
    [InlineData("bad\\")]
    [InlineData("bad\\25")]
    public void Invalid_names_are_rejected_by_the_writer(string name)
    {
        Assert.False(DnsName.IsValidName(name));
        var buffer = new byte[512];
        var w = new DnsMessageWriter(buffer);
        bool threw = false;
        try { w.TryWriteQuestion(new DnsQuestion(name, DnsType.A, DnsClass.IN)); }
        catch (ArgumentException) { threw = true; }
        Assert.True(threw);
    }

    [Fact]
    public void Label_and_name_limits_are_enforced()
    {
        Assert.True(DnsName.IsValidName(new string('a', 63) + ".test"));
        Assert.False(DnsName.IsValidName(new string('a', 64) + ".test"));
        string label = new('b', 63);
        string n253 = $"{label}.{label}.{label}.{new string('c', 61)}"; // 253 chars = 255 wire bytes
        Assert.True(DnsName.IsValidName(n253));
        Assert.False(DnsName.IsValidName(n253 + "c"));
    }

    [Fact]
    public void Writer_returns_false_when_the_buffer_is_too_small_and_rolls_back()
    {
        byte[] full = DnsTestMessages.AllTypes();
        for (int size = DnsHeader.Length; size < full.Length; size++)
        {
            var buffer = new byte[size];
            var w = new DnsMessageWriter(buffer);
            w.WriteHeader(new DnsHeader(1, DnsHeader.QrFlag, 0, 0, 0, 0));
            int written = 0;
            if (w.TryWriteQuestion(new DnsQuestion("Host.Sy.Test", DnsType.A, DnsClass.IN))) written++;
            if (w.TryWriteA("host.sy.test", 300, [192, 0, 2, 10])) written++;
            if (w.TryWriteTxt("txt.sy.test", 600, ["hello world"])) written++;
            if (w.TryWriteSrv("_sip._udp.sy.test", 500, 10, 20, 5060, "host.sy.test")) written++;
            int length = w.Finish();
            Assert.True(length <= size);
            // Whatever was written must parse completely.
            var r = new DnsMessageReader(buffer.AsSpan(0, length));
            Assert.True(r.TryReadHeader(out var h));
            int records = h.QuestionCount + h.AnswerCount;
            Assert.Equal(written, records);
            for (int i = 0; i < h.QuestionCount; i++) Assert.True(r.TryReadQuestion(out _));
            for (int i = 0; i < h.AnswerCount; i++) Assert.True(r.TryReadRecord(out _));
            Assert.Equal(length, r.Position);
        }
    }

    [Fact]
    public void Sections_must_be_written_in_order()
    {
        var buffer = new byte[512];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(default);
        Assert.True(w.TryWriteA("a.test", 1, [1, 2, 3, 4], DnsSection.Authority));
        bool threw = false;
        try { w.TryWriteA("a.test", 1, [1, 2, 3, 4], DnsSection.Answer); } catch (InvalidOperationException) { threw = true; }
        Assert.True(threw);
        threw = false;
        try { w.TryWriteQuestion(new DnsQuestion("a.test", DnsType.A, DnsClass.IN)); } catch (InvalidOperationException) { threw = true; }
        Assert.True(threw);
        Assert.True(w.TryWriteOpt(4096));
    }

    [Theory]
    [InlineData(0u, 300u)]
    [InlineData(100u, 200u)]
    [InlineData(300u, 0u)]
    [InlineData(5000u, 0u)]
    public void Ttl_aging_subtracts_and_clamps_but_skips_opt(uint elapsed, uint expectedFirst)
    {
        byte[] m = DnsTestMessages.AllTypes();
        Assert.True(DnsMessage.TryAgeTtls(m, elapsed));
        var r = new DnsMessageReader(m);
        r.TryReadHeader(out var h);
        r.TryReadQuestion(out _);
        uint[] original = [300, 200, 100, 400, 500, 600, 700, 800];
        for (int i = 0; i < h.AnswerCount + h.AuthorityCount + h.AdditionalCount; i++)
        {
            Assert.True(r.TryReadRecord(out var rec));
            if (rec.Type == DnsType.OPT) Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(rec.TtlOffset)));
            else Assert.Equal(original[i] > elapsed ? original[i] - elapsed : 0, rec.Ttl);
            if (i == 0) Assert.Equal(expectedFirst, rec.Ttl);
        }
    }

    [Fact]
    public void Ttl_aging_leaves_a_malformed_message_untouched()
    {
        byte[] m = DnsTestMessages.AllTypes();
        byte[] cut = m[..(m.Length - 3)];
        byte[] before = (byte[])cut.Clone();
        Assert.False(DnsMessage.TryAgeTtls(cut, 10));
        Assert.Equal(before, cut);
    }

    [Fact]
    public void Minimum_ttl_of_a_positive_answer_ignores_additional()
    {
        Assert.True(DnsMessage.TryGetMinimumTtl(DnsTestMessages.AllTypes(), out uint ttl));
        Assert.Equal(100u, ttl); // the CNAME; the SOA MINIMUM (60) only counts for negative answers
    }

    [Theory]
    [InlineData(900u, 300u, 300u)]
    [InlineData(120u, 3600u, 120u)]
    public void Minimum_ttl_of_a_negative_answer_uses_the_soa(uint soaTtl, uint minimum, uint expected)
    {
        Assert.True(DnsMessage.TryGetMinimumTtl(DnsTestMessages.NxDomain(soaTtl, minimum), out uint ttl));
        Assert.Equal(expected, ttl);
    }

    [Fact]
    public void Minimum_ttl_is_false_without_records()
    {
        Assert.False(DnsMessage.TryGetMinimumTtl(DnsTestMessages.Query("a.test", DnsType.A), out _));
        Assert.False(DnsMessage.TryGetMinimumTtl(new byte[5], out _));
    }

    [Fact]
    public void Truncation_keeps_header_question_and_opt_and_sets_tc()
    {
        byte[] m = DnsTestMessages.AllTypes();
        Assert.Equal(m.Length, DnsMessage.TruncateForUdp(m, m.Length)); // fits: untouched
        int length = DnsMessage.TruncateForUdp(m, 100);
        Assert.True(length <= 100);
        var r = new DnsMessageReader(m.AsSpan(0, length));
        Assert.True(r.TryReadHeader(out var h));
        Assert.True(h.Truncated);
        Assert.Equal((1, 0, 0, 1), (h.QuestionCount, h.AnswerCount, h.AuthorityCount, h.AdditionalCount));
        Assert.True(r.TryReadQuestion(out var q));
        Assert.Equal("host.sy.test", q.Name);
        Assert.True(r.TryReadRecord(out var opt));
        Assert.Equal(DnsType.OPT, opt.Type);
        Assert.Equal(1232, (int)opt.Class);
        Assert.Equal(length, r.Position);
        Assert.Equal(1232, DnsMessage.ClientUdpPayloadSize(m.AsSpan(0, length)));
    }

    [Fact]
    public void Truncation_drops_opt_when_it_does_not_fit()
    {
        byte[] m = DnsTestMessages.AllTypes();
        int questionEnd = DnsHeader.Length + 14 + 4;
        int length = DnsMessage.TruncateForUdp(m, questionEnd + 5);
        Assert.Equal(questionEnd, length);
        Assert.True(DnsHeader.TryRead(m, out var h));
        Assert.Equal((1, 0, 0, 0, true), (h.QuestionCount, h.AnswerCount, h.AuthorityCount, h.AdditionalCount, h.Truncated));
    }

    [Fact]
    public void Truncation_to_512_of_a_large_answer()
    {
        var buffer = new byte[4096];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(DnsHeader.CreateResponse(new DnsHeader(9, 0, 0, 0, 0, 0), DnsResponseCode.NoError));
        Assert.True(w.TryWriteQuestion(new DnsQuestion("many.sy.test", DnsType.A, DnsClass.IN)));
        for (int i = 0; i < 100; i++) Assert.True(w.TryWriteA("many.sy.test", 60, [10, 0, 0, (byte)i]));
        int full = w.Finish();
        Assert.True(full > 512);
        int length = DnsMessage.TruncateForUdp(buffer.AsSpan(0, full), DnsMessage.ClientUdpPayloadSize(DnsTestMessages.Query("many.sy.test", DnsType.A)));
        Assert.Equal(DnsHeader.Length + 14 + 4, length);
    }

    [Theory]
    [InlineData(null, 512)]
    [InlineData((ushort)4096, 4096)]
    [InlineData((ushort)1232, 1232)]
    [InlineData((ushort)100, 512)]
    public void Client_udp_payload_size(ushort? edns, int expected) =>
        Assert.Equal(expected, DnsMessage.ClientUdpPayloadSize(DnsTestMessages.Query("a.test", DnsType.A, edns: edns)));

    [Fact]
    public void Id_read_and_write()
    {
        byte[] m = DnsTestMessages.Query("a.test", DnsType.A, id: 0xBEEF);
        Assert.Equal(0xBEEF, DnsMessage.ReadId(m));
        DnsMessage.WriteId(m, 0x0102);
        Assert.Equal([1, 2], m[..2]);
    }

    [Fact]
    public void Header_flags()
    {
        ushort f = DnsHeader.MakeFlags(true, 2, authoritative: true, truncated: true, recursionDesired: true, recursionAvailable: true, DnsResponseCode.Refused);
        var h = new DnsHeader(1, f, 0, 0, 0, 0);
        Assert.Equal((true, (byte)2, true, true, true, true, DnsResponseCode.Refused), (h.IsResponse, h.Opcode, h.Authoritative, h.Truncated, h.RecursionDesired, h.RecursionAvailable, h.ResponseCode));
        Assert.Equal(0x9785, f);
    }

    [Theory]
    [InlineData("4.3.2.1.in-addr.arpa", 0x01020304u)]
    [InlineData("7.2.0.192.IN-ADDR.ARPA.", 0xC0000207u)]
    [InlineData("0.0.0.0.in-addr.arpa", 0u)]
    public void Reverse_ipv4_parses(string name, uint expected)
    {
        Assert.True(DnsName.TryParseReverseIpv4(name, out uint a));
        Assert.Equal(expected, a);
        Assert.True(DnsName.Equals(name, DnsName.FormatReverseIpv4(a)));
    }

    [Theory]
    [InlineData("3.2.1.in-addr.arpa")]
    [InlineData("5.4.3.2.1.in-addr.arpa")]
    [InlineData("256.3.2.1.in-addr.arpa")]
    [InlineData("04.3.2.1.in-addr.arpa")]
    [InlineData("4.3.2.1.ip6.arpa")]
    [InlineData("4.3..1.in-addr.arpa")]
    [InlineData("in-addr.arpa")]
    public void Reverse_ipv4_rejects(string name) => Assert.False(DnsName.TryParseReverseIpv4(name, out _));

    [Fact]
    public void Reverse_ipv6_round_trips()
    {
        byte[] addr = IPAddress.Parse("2001:db8::567:89ab").GetAddressBytes();
        string name = DnsName.FormatReverseIpv6(addr);
        Assert.Equal("b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", name);
        var parsed = new byte[16];
        Assert.True(DnsName.TryParseReverseIpv6(name.ToUpperInvariant() + ".", parsed));
        Assert.Equal(addr, parsed);
        Assert.False(DnsName.TryParseReverseIpv6("1.0.ip6.arpa", parsed));
        Assert.False(DnsName.TryParseReverseIpv6(name.Replace("b.a.", "g.a.", StringComparison.Ordinal), parsed));
    }

    [Theory]
    [InlineData("Host.Example", "host.example.", true)]
    [InlineData("host.example", "host.exampl", false)]
    [InlineData("HOST", "host", true)]
    public void Names_compare_case_insensitively(string a, string b, bool equal)
    {
        Assert.Equal(equal, DnsName.Equals(a, b));
        if (equal) Assert.Equal(DnsName.Comparer.GetHashCode(a), DnsName.Comparer.GetHashCode(b));
    }

    [Theory]
    [InlineData("a.b.example.test", "example.test", true)]
    [InlineData("example.test", "Example.Test.", true)]
    [InlineData("xexample.test", "example.test", false)]
    [InlineData("anything", "", true)]
    public void Subdomains(string name, string zone, bool expected) => Assert.Equal(expected, DnsName.IsSubdomainOf(name, zone));
}

public sealed class DnsCompressionCaseTests
{
    [Fact]
    public void Compression_matches_case_insensitively_and_the_pointer_carries_the_first_spelling()
    {
        var buffer = new byte[512];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(default);
        Assert.True(w.TryWriteQuestion(new DnsQuestion("Host.Sy.Test", DnsType.A, DnsClass.IN)));
        Assert.True(w.TryWriteA("host.SY.test", 1, [1, 2, 3, 4]));
        int length = w.Finish();
        var r = new DnsMessageReader(buffer.AsSpan(0, length));
        r.TryReadHeader(out _);
        Assert.True(r.TryReadQuestion(out var q));
        Assert.Equal("Host.Sy.Test", q.Name); // case preserved as written
        Assert.True(r.TryReadRecord(out var a));
        Assert.True(DnsName.Equals("host.sy.test", a.Name)); // RFC 4343 §4.1: compression may change case
        Assert.Equal(DnsHeader.Length + 14 + 4 + 2 + 10 + 4, length);
    }
}
