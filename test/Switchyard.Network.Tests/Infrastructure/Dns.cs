using Switchyard.Packets;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Tests.Infrastructure;

internal sealed record DnsRecord(string Name, DnsType Type, DnsClass Class, uint Ttl, byte[] Data, string? Target, Ipv4Address? Address);

internal sealed record DnsReply(DnsHeader Header, List<DnsQuestion> Questions, List<DnsRecord> Answers, List<DnsRecord> Authority, List<DnsRecord> Additional);

internal static class DnsTestMessages
{
    public static byte[] Query(string name, DnsType type, ushort id = 0x4242, bool edns = false, byte opcode = 0, int questions = 1,
        bool dnssecOk = false)
    {
        var buf = new byte[512];
        var w = new DnsMessageWriter(buf);
        w.WriteHeader(new DnsHeader(id, DnsHeader.MakeFlags(false, opcode, recursionDesired: true), 0, 0, 0, 0));
        for (int i = 0; i < questions; i++) Assert.True(w.TryWriteQuestion(new DnsQuestion(name, type, DnsClass.IN)));
        if (edns) Assert.True(w.TryWriteRecord("", DnsType.OPT, (DnsClass)1232, dnssecOk ? 0x8000u : 0, default, DnsSection.Additional));
        return buf[..w.Finish()];
    }

    public static DnsReply Parse(ReadOnlySpan<byte> message)
    {
        var r = new DnsMessageReader(message);
        Assert.True(r.TryReadHeader(out var h));
        var qs = new List<DnsQuestion>();
        for (int i = 0; i < h.QuestionCount; i++) { Assert.True(r.TryReadQuestion(out var q)); qs.Add(q); }
        var an = Read(ref r, h.AnswerCount);
        var ns = Read(ref r, h.AuthorityCount);
        var ar = Read(ref r, h.AdditionalCount);
        Assert.Equal(message.Length, r.Position);
        return new DnsReply(h, qs, an, ns, ar);
    }

    private static List<DnsRecord> Read(ref DnsMessageReader r, int count)
        {
            var list = new List<DnsRecord>();
            for (int i = 0; i < count; i++)
            {
                Assert.True(r.TryReadRecord(out var rec));
                string? target = rec.TryGetTargetName(out var t) ? t : null;
                Ipv4Address? addr = rec.TryGetIpv4(out var a) ? a : null;
                list.Add(new DnsRecord(rec.Name, rec.Type, rec.Class, rec.Ttl, rec.Data.ToArray(), target, addr));
            }
            return list;
        }

    /// <summary>An upstream-style answer: one A record per address with <paramref name="ttl"/>.</summary>
    public static byte[] Answer(ReadOnlySpan<byte> query, DnsResponseCode rcode, uint ttl, params Ipv4Address[] addresses)
    {
        var r = new DnsMessageReader(query);
        Assert.True(r.TryReadHeader(out var h));
        Assert.True(r.TryReadQuestion(out var q));
        var buf = new byte[1232];
        var w = new DnsMessageWriter(buf);
        w.WriteHeader(DnsHeader.CreateResponse(h, rcode, authoritative: false));
        Assert.True(w.TryWriteQuestion(q));
        foreach (var a in addresses) Assert.True(w.TryWriteA(q.Name, ttl, a));
        return buf[..w.Finish()];
    }
}
