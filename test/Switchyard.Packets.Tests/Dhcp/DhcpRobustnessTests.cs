using System.Diagnostics;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Packets.Tests.Dhcp;

/// <summary>Malformed input never throws or hangs; the writer fails cleanly when out of room.</summary>
public class DhcpRobustnessTests
{
    private static byte[] Valid() => DhcpTestMessages.Reply(DhcpTestMessages.Discover(), DhcpMessageType.Offer, ["a.internal", "b.internal", "c.example.org"]);

    /// <summary>Touches every accessor; returns something so the JIT cannot drop the work.</summary>
    private static int Exercise(ReadOnlySpan<byte> bytes)
    {
        if (!DhcpMessageReader.TryParse(bytes, out var r)) return -1;
        int acc = r.Op + (int)r.TransactionId + r.Seconds + (r.BroadcastFlag ? 1 : 0) + (int)r.ClientAddress.Value + (int)r.YourAddress.Value
            + (int)r.ServerAddress.Value + (int)r.RelayAddress.Value + (int)r.ClientHardwareAddress.Value;
        acc += (int)(r.MessageType ?? 0) + (int)(r.RequestedIpAddress?.Value ?? 0) + (int)(r.ServerIdentifier?.Value ?? 0) + (r.MaxMessageSize ?? 0);
        acc += r.ClientIdentifier.Length + r.ParameterRequestList.Length + r.HostName.Length;
        for (int code = 0; code < 256; code += 7) if (r.TryGetOption((byte)code, out var v)) acc += v.Length;
        foreach (var o in r.Options) acc += o.Code;
        Span<byte> concat = stackalloc byte[2048];
        if (r.TryCopyConcatenatedOption(DhcpOption.DomainSearch, concat, out int n))
        {
            var list = new List<string>();
            DhcpDomainSearch.TryDecode(concat[..n], list);
            acc += list.Count;
        }
        return acc;
    }

    [Fact]
    public void RandomAndMutatedMessagesNeverThrow()
    {
        var rng = new Random(20240611);
        var valid = Valid();
        var sw = Stopwatch.StartNew();
        int parsed = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] m;
            switch (i % 4)
            {
                case 0: // pure noise, but with a plausible header so the option walker runs
                    m = new byte[rng.Next(0, 700)];
                    rng.NextBytes(m);
                    if (m.Length >= 240) { m[0] = 2; m[1] = 1; m[2] = 6; m[236] = 99; m[237] = 130; m[238] = 83; m[239] = 99; }
                    break;
                case 1: // byte flips of a valid message
                    m = (byte[])valid.Clone();
                    for (int k = rng.Next(1, 8); k > 0; k--) m[rng.Next(m.Length)] = (byte)rng.Next(256);
                    break;
                case 2: // truncation
                    m = valid[..rng.Next(valid.Length)];
                    break;
                default: // random option area
                    m = (byte[])valid.Clone();
                    rng.NextBytes(m.AsSpan(240, rng.Next(0, m.Length - 240)));
                    break;
            }
            if (Exercise(m) != -1) parsed++;
        }
        Assert.True(parsed > 1000, $"only {parsed} parsed: the fuzzer is not reaching the option code");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30));
    }

    public static TheoryData<string, byte[]> Malformed()
    {
        var valid = Valid();
        var data = new TheoryData<string, byte[]>();
        data.Add("empty", []);
        data.Add("truncated header", valid[..100]);
        data.Add("header without cookie", valid[..236]);
        var noCookie = (byte[])valid.Clone(); noCookie[239] = 0;
        data.Add("wrong cookie", noCookie);
        var badOp = (byte[])valid.Clone(); badOp[0] = 3;
        data.Add("op 3", badOp);
        var badHlen = (byte[])valid.Clone(); badHlen[2] = 16;
        data.Add("hlen 16", badHlen);
        var tokenRing = (byte[])valid.Clone(); tokenRing[1] = 6;
        data.Add("htype 6", tokenRing);
        var overrun = (byte[])valid[..244]; overrun[240] = 53; overrun[241] = 200; overrun[242] = 1; overrun[243] = 255;
        data.Add("option length past the end", overrun);
        var lengthless = (byte[])valid[..241]; lengthless[240] = 53;
        data.Add("code without length", lengthless);
        return data;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedMessagesAreRejected(string name, byte[] bytes)
    {
        Assert.False(DhcpMessageReader.TryParse(bytes, out _), name);
    }

    [Fact]
    public void MissingEndIsToleratedAndMalformedOption53IsNull()
    {
        var m = Valid()[..246];
        m[240] = 53; m[241] = 2; m[242] = 2; m[243] = 0; // option 53 with length 2
        m[244] = 0; m[245] = 0; // pads, no End
        Assert.True(DhcpMessageReader.TryParse(m, out var r));
        Assert.Null(r.MessageType);
        m[241] = 1; m[242] = 9; m[243] = 0;
        Assert.True(DhcpMessageReader.TryParse(m, out r));
        Assert.Null(r.MessageType); // 9 is outside 1..8
        Assert.True(r.HostName.IsEmpty);
        Assert.Null(r.ServerIdentifier);
    }

    [Fact]
    public void OptionsAfterEndAreIgnored()
    {
        var m = Valid()[..250];
        m[240] = 255; m[241] = 53; m[242] = 1; m[243] = 5;
        Assert.True(DhcpMessageReader.TryParse(m, out var r));
        Assert.Null(r.MessageType);
    }

    public static TheoryData<string, byte[]> BadSearchLists() => new()
    {
        { "pointer to itself", [0xC0, 0x00] },
        { "pointer loop", [1, (byte)'a', 0xC0, 0x00] },
        { "forward pointer", [0xC0, 0x02, 1, (byte)'a', 0] },
        { "two-step loop", [1, (byte)'a', 0xC0, 0x04, 1, (byte)'b', 0xC0, 0x00] },
        { "label past end", [5, (byte)'a', 0] },
        { "missing root", [1, (byte)'a'] },
        { "truncated pointer", [1, (byte)'a', 0, 0xC0] },
        { "extended label type", [0x41, 0] },
        { "root only", [0] },
    };

    [Theory]
    [MemberData(nameof(BadSearchLists))]
    public void DomainSearchRejectsMalformedData(string name, byte[] data)
    {
        Assert.False(DhcpDomainSearch.TryDecode(data, new List<string>()), name);
    }

    [Fact]
    public void DomainSearchRejectsOverlongNames()
    {
        var data = new List<byte>();
        for (int i = 0; i < 5; i++) { data.Add(63); data.AddRange(Enumerable.Repeat((byte)'x', 63)); }
        data.Add(0);
        Assert.False(DhcpDomainSearch.TryDecode(data.ToArray(), new List<string>()));
    }

    [Fact]
    public void WriterFailsCleanlyWhenOutOfRoom()
    {
        Assert.True(DhcpMessageReader.TryParse(DhcpTestMessages.Discover(), out var req));
        var small = new byte[100];
        var w = new DhcpMessageWriter(small);
        w.WriteReplyHeader(req, DhcpTestMessages.Offered, DhcpTestMessages.Server);
        Assert.False(w.TryWriteMessageType(DhcpMessageType.Offer));
        Assert.Equal(0, w.Finish());

        var buf = new byte[250];
        w = new DhcpMessageWriter(buf);
        w.WriteReplyHeader(req, DhcpTestMessages.Offered, DhcpTestMessages.Server);
        Assert.True(w.TryWriteMessageType(DhcpMessageType.Offer)); // 243
        Assert.True(w.TryWriteUInt32(DhcpOption.LeaseTime, 60));   // 249, End still fits
        Assert.False(w.TryWriteUInt16(DhcpOption.InterfaceMtu, 1500));
        Assert.False(w.TryWriteDomainSearch(["a.internal"]));
        Assert.Equal(249, w.Length);
        Assert.Equal(0, w.Finish()); // cannot pad to 300

        w = new DhcpMessageWriter(new byte[300]);
        w.WriteReplyHeader(req, DhcpTestMessages.Offered, DhcpTestMessages.Server);
        Assert.False(w.TryWriteRaw(DhcpOption.Pad, [1]));
        Assert.False(w.TryWriteRaw(DhcpOption.End, []));
        Assert.False(w.TryWriteString(DhcpOption.HostName, "gäst"));
        Assert.False(w.TryWriteString(DhcpOption.HostName, ""));
        Assert.False(w.TryWriteAddresses(DhcpOption.Router, []));
        Assert.False(w.TryWriteMessageType((DhcpMessageType)9));
        Assert.False(w.TryWriteDomainSearch(["bad..name"]));
        Assert.False(w.TryWriteDomainSearch([new string('x', 64) + ".example"]));
        Assert.Equal(240, w.Length);
        Assert.Equal(300, w.Finish());
    }
}
