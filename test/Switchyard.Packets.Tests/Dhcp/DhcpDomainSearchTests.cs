using Switchyard.Packets.Dhcp;

namespace Switchyard.Packets.Tests.Dhcp;

public class DhcpDomainSearchTests
{
    [Fact]
    public void Rfc3397Section2Example()
    {
        // RFC 3397 §2: "eng.apple.com." and "marketing.apple.com." encode to 9 + 2 + ... with a pointer to "apple.com".
        byte[] expected =
        [
            3, (byte)'e', (byte)'n', (byte)'g', 5, (byte)'a', (byte)'p', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0,
            9, (byte)'m', (byte)'a', (byte)'r', (byte)'k', (byte)'e', (byte)'t', (byte)'i', (byte)'n', (byte)'g', 0xC0, 0x04,
        ];
        var buf = new byte[64];
        Assert.True(DhcpDomainSearch.TryEncode(["eng.apple.com.", "marketing.apple.com."], buf, out int n));
        Assert.Equal(expected, buf[..n]);
        var list = new List<string>();
        Assert.True(DhcpDomainSearch.TryDecode(expected, list));
        Assert.Equal(["eng.apple.com", "marketing.apple.com"], list);
    }

    [Theory]
    [InlineData(new[] { "example.org" }, 13)]
    [InlineData(new[] { "example.org", "example.org" }, 15)]            // whole-name pointer
    [InlineData(new[] { "a.example.org", "example.org" }, 17)]          // pointer into the middle of a name
    [InlineData(new[] { "A.Internal", "b.internal" }, 16)]              // case-insensitive match
    [InlineData(new[] { "x.y.z", "y.z", "q.z", "z" }, 7 + 2 + 4 + 2)]
    public void CompressesSuffixes(string[] domains, int expectedLength)
    {
        var buf = new byte[256];
        Assert.True(DhcpDomainSearch.TryEncode(domains, buf, out int n));
        Assert.Equal(expectedLength, n);
        var list = new List<string>();
        Assert.True(DhcpDomainSearch.TryDecode(buf.AsSpan(0, n), list));
        Assert.Equal(domains.Select(d => d.ToLowerInvariant()), list.Select(d => d.ToLowerInvariant()));
    }

    [Fact]
    public void LongListsSplitIntoSeveralOptionInstances()
    {
        // 40 distinct names of ~13 bytes: well over 255 bytes even compressed (RFC 3396 §7 split).
        string[] domains = Enumerable.Range(0, 40).Select(i => $"zone{i:D3}-{new string((char)('a' + i % 26), 8)}.corp").ToArray();
        Assert.True(DhcpMessageReader.TryParse(DhcpTestMessages.Discover(), out var req));
        var buf = new byte[1500];
        var w = new DhcpMessageWriter(buf);
        w.WriteReplyHeader(req, DhcpTestMessages.Offered, DhcpTestMessages.Server);
        Assert.True(w.TryWriteMessageType(DhcpMessageType.Ack));
        Assert.True(w.TryWriteDomainSearch(domains));
        Assert.True(w.TryWriteUInt32(DhcpOption.LeaseTime, 600));
        int n = w.Finish();

        Assert.True(DhcpMessageReader.TryParse(buf.AsSpan(0, n), out var r));
        int instances = 0;
        foreach (var o in r.Options) if (o.Code == DhcpOption.DomainSearch) { instances++; Assert.True(o.Value.Length <= 255); }
        Assert.True(instances >= 2, $"{instances} instances");
        Assert.Equal(DhcpMessageType.Ack, r.MessageType);
        Assert.True(r.TryGetOption(DhcpOption.LeaseTime, out _));

        var concat = new byte[2048];
        Assert.True(r.TryCopyConcatenatedOption(DhcpOption.DomainSearch, concat, out int len));
        var list = new List<string>();
        Assert.True(DhcpDomainSearch.TryDecode(concat.AsSpan(0, len), list));
        Assert.Equal(domains, list);
    }

    [Fact]
    public void TryWriteLongSplitsAndConcatenates()
    {
        var value = Enumerable.Range(0, 600).Select(i => (byte)i).ToArray();
        Assert.True(DhcpMessageReader.TryParse(DhcpTestMessages.Discover(), out var req));
        var buf = new byte[1500];
        var w = new DhcpMessageWriter(buf);
        w.WriteReplyHeader(req, DhcpTestMessages.Offered, DhcpTestMessages.Server);
        Assert.True(w.TryWriteLong(43, value));
        Assert.Equal(240 + 600 + 3 * 2, w.Length);
        int n = w.Finish();
        Assert.True(DhcpMessageReader.TryParse(buf.AsSpan(0, n), out var r));
        var concat = new byte[600];
        Assert.True(r.TryCopyConcatenatedOption(43, concat, out int len));
        Assert.Equal(value, concat[..len]);
        Assert.False(r.TryCopyConcatenatedOption(43, new byte[599], out _));
    }
}
