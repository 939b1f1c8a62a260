using Switchyard.Packets.Dns;
using Switchyard.Packets.Tests.Infrastructure;

namespace Switchyard.Packets.Tests.Dns;

/// <summary>Hostile input must never throw or hang: random bytes and mutations of valid messages go
/// through every entry point that takes wire data.</summary>
public sealed class DnsFuzzTests
{
    private static List<byte[]> Seeds()
    {
        var seeds = new List<byte[]> { DnsTestMessages.AllTypes(), DnsTestMessages.NxDomain(60, 30), DnsTestMessages.Query("a.b.test", DnsType.AAAA, edns: 4096) };
        var (_, packets) = PcapReader.Read(Path.Combine(AppContext.BaseDirectory, "Data", "dig-dnsmasq.pcap"));
        foreach (var p in packets)
            if (PcapReader.UdpPayload(p.Data) is { } udp) seeds.Add(udp.Payload);
        return seeds;
    }

    /// <summary>Runs every wire-data entry point; the only assertion is that nothing throws.</summary>
    private static void Exercise(byte[] input)
    {
        var r = new DnsMessageReader(input);
        if (r.TryReadHeader(out var h))
        {
            for (int i = 0; i < h.QuestionCount && r.TryReadQuestion(out _); i++) { }
            for (int i = 0; i < h.AnswerCount + h.AuthorityCount + h.AdditionalCount; i++)
            {
                if (!r.TryReadRecord(out var rec)) break;
                rec.TryGetIpv4(out _);
                rec.TryGetIpv6(out _);
                rec.TryGetTargetName(out _);
                rec.TryGetSrv(out _, out _, out _, out _);
                rec.TryGetTxt(out _);
                rec.TryGetSoa(out _, out _, out _, out _, out _, out _, out _);
            }
        }
        // The name reader at every offset, not just where the structure says names are.
        for (int offset = 0; offset < Math.Min(input.Length, 64); offset++)
        {
            var nr = new DnsMessageReader(input);
            for (int k = 0; k < offset; k++) nr.TryReadName(out _); // moves only on success
            nr.TryReadName(out _);
        }
        DnsMessage.TryGetMinimumTtl(input, out _);
        DnsMessage.ClientUdpPayloadSize(input);
        DnsMessage.TryAgeTtls((byte[])input.Clone(), 1000);
        if (input.Length >= DnsHeader.Length)
        {
            byte[] copy = (byte[])input.Clone();
            int length = DnsMessage.TruncateForUdp(copy, Math.Max(DnsHeader.Length, input.Length / 2));
            Assert.InRange(length, 0, input.Length);
        }
    }

    [Fact]
    public void Random_bytes_and_mutations_never_throw()
    {
        var rng = new Random(20240601);
        var seeds = Seeds();
        for (int i = 0; i < 20_000; i++)
        {
            byte[] input;
            switch (i % 4)
            {
                case 0:
                    input = new byte[rng.Next(0, 600)];
                    rng.NextBytes(input);
                    break;
                case 1: // bit flips
                    input = (byte[])seeds[rng.Next(seeds.Count)].Clone();
                    for (int f = rng.Next(1, 8); f > 0; f--) input[rng.Next(input.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 2: // truncation
                    byte[] s = seeds[rng.Next(seeds.Count)];
                    input = s[..rng.Next(s.Length)];
                    break;
                default: // random bytes overwritten, sometimes pointer-shaped
                    input = (byte[])seeds[rng.Next(seeds.Count)].Clone();
                    for (int f = rng.Next(1, 4); f > 0; f--)
                    {
                        int at = rng.Next(input.Length);
                        input[at] = rng.Next(2) == 0 ? (byte)rng.Next(256) : (byte)(0xC0 | rng.Next(4));
                    }
                    break;
            }
            Exercise(input);
        }
    }

    private static byte[] Header(ushort qd, ushort an = 0) => [0, 1, 0x81, 0x80, 0, (byte)qd, 0, (byte)an, 0, 0, 0, 0];

    public static TheoryData<string, byte[]> Regressions()
    {
        var data = new TheoryData<string, byte[]>
        {
            { "pointer to itself", [.. Header(1), 0xC0, 12, 0, 1, 0, 1] },
            { "two pointers in a loop", [.. Header(1), 1, (byte)'a', 0xC0, 16, 0xC0, 12, 0, 1, 0, 1] },
            { "pointer forward", [.. Header(1), 0xC0, 14, 1, (byte)'a', 0, 0, 1, 0, 1] },
            { "pointer past the end", [.. Header(1), 0xC0, 0xFF, 0, 1, 0, 1] },
            { "pointer into the header", [.. Header(1), 0xC0, 0x02, 0, 1, 0, 1] },
            { "label longer than 63 (0x40 type)", [.. Header(1), 0x40, .. new byte[64], 0, 0, 1, 0, 1] },
            { "label type 0x80", [.. Header(1), 0x80, 0, 0, 1, 0, 1] },
            { "label past the end", [.. Header(1), 10, (byte)'a'] },
            { "half a pointer", [.. Header(1), 0xC0] },
            { "record rdlength past the end", [.. Header(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 60, 0xFF, 0xFF, 1, 2, 3, 4] },
            { "question count beyond the data", [.. Header(255), 0, 0, 1, 0, 1] },
        };
        // 5 labels of 63 bytes: 320 wire bytes, over the 255 limit.
        var longName = new List<byte>(Header(1));
        for (int i = 0; i < 5; i++) { longName.Add(63); longName.AddRange(Enumerable.Repeat((byte)'x', 63)); }
        longName.AddRange([0, 0, 1, 0, 1]);
        data.Add("name longer than 255", longName.ToArray());
        // A long chain of backward pointers, each one pointing at the previous one.
        var chain = new List<byte>(Header(1)) { 0 };
        for (int i = 0; i < 300; i++) { int target = 12 + (i == 0 ? 0 : 1 + 2 * (i - 1)); chain.Add((byte)(0xC0 | target >> 8)); chain.Add((byte)target); }
        chain.AddRange([0, 1, 0, 1]);
        data.Add("pointer chain longer than the hop limit", chain.ToArray());
        return data;
    }

    [Theory]
    [MemberData(nameof(Regressions))]
    public void Malformed_messages_are_rejected(string why, byte[] message)
    {
        var r = new DnsMessageReader(message);
        Assert.True(r.TryReadHeader(out _), why);
        bool nameCase = why is not ("pointer chain longer than the hop limit" or "record rdlength past the end" or "question count beyond the data");
        if (nameCase)
        {
            Assert.False(r.TryReadQuestion(out _), why);
            Assert.Equal(DnsHeader.Length, r.Position);
        }
        if (why != "pointer chain longer than the hop limit")
        {
            byte[] before = (byte[])message.Clone();
            Assert.False(DnsMessage.TryAgeTtls(message, 1), why);
            Assert.Equal(before, message);
        }
        Exercise(message);
        Assert.False(DnsMessage.TryGetMinimumTtl(message, out _));
    }

    [Fact]
    public void The_hop_limit_applies()
    {
        // Name at the end of a chain of 300 pointers: the last one is reached only beyond 128 hops.
        byte[] chain = Regressions().Select(row => (string)row[0] == "pointer chain longer than the hop limit" ? (byte[])row[1] : null).OfType<byte[]>().Single();
        var r = new DnsMessageReader(chain);
        r.TryReadHeader(out _);
        Assert.True(r.TryReadName(out string root)); // the root at offset 12
        Assert.Equal("", root);
        for (int i = 0; i < 128; i++) Assert.True(r.TryReadName(out _), $"pointer {i}");
        Assert.False(r.TryReadName(out _));
    }
}
