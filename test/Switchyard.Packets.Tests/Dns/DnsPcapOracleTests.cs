using Switchyard.Packets.Dns;
using Switchyard.Packets.Tests.Infrastructure;

namespace Switchyard.Packets.Tests.Dns;

/// <summary>Parses real traffic: dig talking to dnsmasq, captured once by Data/dig-dnsmasq.capture.sh
/// into Data/dig-dnsmasq.pcap. Expected values are what that script configured and dig printed.</summary>
public sealed class DnsPcapOracleTests
{
    private const ushort Port = 53535;

    private static List<byte[]> Payloads(bool responses)
    {
        var (linkType, packets) = PcapReader.Read(Path.Combine(AppContext.BaseDirectory, "Data", "dig-dnsmasq.pcap"));
        Assert.Equal(PcapReader.LinkTypeEthernet, linkType); // tcpdump on lo writes EN10MB with a zeroed Ethernet header
        var result = new List<byte[]>();
        foreach (var p in packets)
        {
            var udp = PcapReader.UdpPayload(p.Data);
            Assert.NotNull(udp);
            if ((responses ? udp.Value.SourcePort : udp.Value.DestinationPort) == Port) result.Add(udp.Value.Payload);
        }
        return result;
    }

    [Fact]
    public void Capture_holds_eight_queries_and_eight_responses()
    {
        Assert.Equal(8, Payloads(responses: false).Count);
        Assert.Equal(8, Payloads(responses: true).Count);
    }

    [Theory]
    [InlineData("www.example.test", DnsType.A, true)]
    [InlineData("host.sy.test", DnsType.A, false)]
    [InlineData("host.sy.test", DnsType.AAAA, true)]
    [InlineData("7.2.0.192.in-addr.arpa", DnsType.PTR, true)]
    [InlineData("alias.sy.test", DnsType.A, false)]
    [InlineData("_sip._udp.sy.test", DnsType.SRV, true)]
    [InlineData("txt.sy.test", DnsType.TXT, false)]
    [InlineData("missing.sy.test", DnsType.A, true)]
    public void Queries_parse(string name, DnsType type, bool edns)
    {
        byte[] query = Assert.Single(Payloads(responses: false), q => QuestionOf(q) == (name, type));
        Assert.True(DnsHeader.TryRead(query, out var h));
        Assert.False(h.IsResponse);
        Assert.True(h.RecursionDesired);
        Assert.Equal(edns ? 1232 : 512, DnsMessage.ClientUdpPayloadSize(query)); // dig 9.18 advertises 1232
        Assert.False(DnsMessage.TryGetMinimumTtl(query, out _));
    }

    private static (string, DnsType) QuestionOf(byte[] message)
    {
        var r = new DnsMessageReader(message);
        Assert.True(r.TryReadHeader(out var h));
        Assert.Equal(1, h.QuestionCount);
        Assert.True(r.TryReadQuestion(out var q));
        Assert.Equal(DnsClass.IN, q.Class);
        return (q.Name, q.Type);
    }

    /// <summary>Reads the response to (name, type): header, then every record formatted like dig's answer lines.</summary>
    private static (DnsHeader Header, List<string> Records, int UdpSize) Response(string name, DnsType type)
    {
        byte[] m = Assert.Single(Payloads(responses: true), q => QuestionOf(q) == (name, type));
        var r = new DnsMessageReader(m);
        Assert.True(r.TryReadHeader(out var h));
        Assert.True(r.TryReadQuestion(out _));
        var lines = new List<string>();
        int udpSize = 0;
        for (int i = 0; i < h.AnswerCount + h.AuthorityCount + h.AdditionalCount; i++)
        {
            Assert.True(r.TryReadRecord(out var rec));
            if (rec.Type == DnsType.OPT) { udpSize = (int)rec.Class; continue; }
            Assert.Equal(DnsClass.IN, rec.Class);
            string data = rec.Type switch
            {
                DnsType.A when rec.TryGetIpv4(out var a) => a.ToString(),
                DnsType.AAAA when rec.TryGetIpv6(out var a6) => a6!.ToString(),
                DnsType.CNAME or DnsType.PTR when rec.TryGetTargetName(out string t) => t + ".",
                DnsType.SRV when rec.TryGetSrv(out ushort p, out ushort w, out ushort port, out string t) => $"{p} {w} {port} {t}.",
                DnsType.TXT when rec.TryGetTxt(out string[] s) => string.Join(' ', s.Select(x => $"\"{x}\"")),
                _ => throw new InvalidDataException($"unparsed {rec.Type}"),
            };
            lines.Add($"{rec.Name}. {rec.Ttl} IN {rec.Type} {data}");
        }
        Assert.Equal(m.Length, r.Position);
        return (h, lines, udpSize);
    }

    public static TheoryData<string, DnsType, string[]> Answers => new()
    {
        { "www.example.test", DnsType.A, ["www.example.test. 300 IN A 192.0.2.7"] },
        { "host.sy.test", DnsType.A, ["host.sy.test. 300 IN A 192.0.2.10"] },
        { "host.sy.test", DnsType.AAAA, ["host.sy.test. 300 IN AAAA 2001:db8::10"] },
        { "7.2.0.192.in-addr.arpa", DnsType.PTR, ["7.2.0.192.in-addr.arpa. 300 IN PTR ptr.sy.test."] },
        { "alias.sy.test", DnsType.A, ["alias.sy.test. 300 IN CNAME host.sy.test.", "host.sy.test. 300 IN A 192.0.2.10"] },
        { "_sip._udp.sy.test", DnsType.SRV, ["_sip._udp.sy.test. 300 IN SRV 10 20 5060 host.sy.test.",
            "host.sy.test. 300 IN A 192.0.2.10", "host.sy.test. 300 IN AAAA 2001:db8::10"] },
        { "txt.sy.test", DnsType.TXT, ["txt.sy.test. 300 IN TXT \"hello world\" \"second\""] },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void Responses_match_what_dig_printed(string name, DnsType type, string[] expected)
    {
        var (h, records, _) = Response(name, type);
        Assert.True(h.IsResponse);
        Assert.True(h.Authoritative);
        Assert.True(h.RecursionAvailable);
        Assert.Equal(DnsResponseCode.NoError, h.ResponseCode);
        Assert.Equal(expected, records);
        Assert.True(DnsMessage.TryGetMinimumTtl(Payload(name, type), out uint ttl));
        Assert.Equal(300u, ttl);
    }

    private static byte[] Payload(string name, DnsType type) => Payloads(responses: true).Single(q => QuestionOf(q) == (name, type));

    [Fact]
    public void Nxdomain_response()
    {
        var (h, records, udpSize) = Response("missing.sy.test", DnsType.A);
        Assert.Equal(DnsResponseCode.NXDomain, h.ResponseCode);
        Assert.Empty(records); // dnsmasq --local sends no SOA
        Assert.Equal(1232, udpSize);
        Assert.False(DnsMessage.TryGetMinimumTtl(Payload("missing.sy.test", DnsType.A), out _));
    }

    [Fact]
    public void Real_responses_age_and_truncate()
    {
        byte[] m = Payload("_sip._udp.sy.test", DnsType.SRV);
        Assert.True(DnsMessage.TryAgeTtls(m, 100));
        Assert.True(DnsMessage.TryGetMinimumTtl(m, out uint ttl));
        Assert.Equal(200u, ttl);
        int length = DnsMessage.TruncateForUdp(m, m.Length - 1);
        var r = new DnsMessageReader(m.AsSpan(0, length));
        Assert.True(r.TryReadHeader(out var h));
        Assert.True(h.Truncated);
        Assert.Equal((1, 0, 0, 1), (h.QuestionCount, h.AnswerCount, h.AuthorityCount, h.AdditionalCount));
        Assert.True(r.TryReadQuestion(out var q));
        Assert.Equal("_sip._udp.sy.test", q.Name);
        Assert.True(r.TryReadRecord(out var opt));
        Assert.Equal(DnsType.OPT, opt.Type);
    }
}
