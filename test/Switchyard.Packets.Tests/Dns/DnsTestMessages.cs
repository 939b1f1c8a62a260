using System.Net;
using Switchyard.Packets.Dns;

namespace Switchyard.Packets.Tests.Dns;

/// <summary>Messages shared by the codec tests.</summary>
internal static class DnsTestMessages
{
    public static readonly byte[] Ipv6 = IPAddress.Parse("2001:db8::10").GetAddressBytes();

    /// <summary>A response carrying every record type the writer supports, plus OPT.</summary>
    public static byte[] AllTypes(bool compress = true)
    {
        var buffer = new byte[1024];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(DnsHeader.CreateResponse(new DnsHeader(0x1234, DnsHeader.RdFlag, 1, 0, 0, 0), DnsResponseCode.NoError));
        Assert.True(w.TryWriteQuestion(new DnsQuestion("host.sy.test", DnsType.A, DnsClass.IN)));
        Assert.True(w.TryWriteA("host.sy.test", 300, [192, 0, 2, 10]));
        Assert.True(w.TryWriteAaaa("host.sy.test", 200, Ipv6));
        Assert.True(w.TryWriteCname("alias.sy.test", 100, "host.sy.test"));
        Assert.True(w.TryWritePtr("10.2.0.192.in-addr.arpa", 400, "host.sy.test"));
        Assert.True(w.TryWriteSrv("_sip._udp.sy.test", 500, 10, 20, 5060, "host.sy.test"));
        Assert.True(w.TryWriteTxt("txt.sy.test", 600, ["hello world", "second", ""]));
        Assert.True(w.TryWriteSoa("sy.test", 700, "ns.sy.test", "hostmaster.sy.test", 2024010101, 3600, 600, 86400, 60, DnsSection.Authority));
        Assert.True(w.TryWriteA("ns.sy.test", 800, [192, 0, 2, 53], DnsSection.Additional));
        Assert.True(w.TryWriteOpt(1232));
        return buffer[..w.Finish()];
    }

    public static byte[] Query(string name, DnsType type, ushort id = 0x4242, ushort? edns = null)
    {
        var buffer = new byte[512];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(new DnsHeader(id, DnsHeader.RdFlag, 0, 0, 0, 0));
        Assert.True(w.TryWriteQuestion(new DnsQuestion(name, type, DnsClass.IN)));
        if (edns is ushort size) Assert.True(w.TryWriteOpt(size));
        return buffer[..w.Finish()];
    }

    /// <summary>An NXDOMAIN answer with an SOA in authority (RFC 2308 §3).</summary>
    public static byte[] NxDomain(uint soaTtl, uint soaMinimum)
    {
        var buffer = new byte[512];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(DnsHeader.CreateResponse(new DnsHeader(7, DnsHeader.RdFlag, 0, 0, 0, 0), DnsResponseCode.NXDomain));
        Assert.True(w.TryWriteQuestion(new DnsQuestion("missing.sy.test", DnsType.A, DnsClass.IN)));
        Assert.True(w.TryWriteSoa("sy.test", soaTtl, "ns.sy.test", "hostmaster.sy.test", 1, 3600, 600, 86400, soaMinimum));
        return buffer[..w.Finish()];
    }

    /// <summary>Count occurrences of a compression pointer (top two bits set) followed by a plausible offset.</summary>
    public static int CountPointers(ReadOnlySpan<byte> message)
    {
        int n = 0;
        for (int i = DnsHeader.Length; i < message.Length - 1; i++)
            if (message[i] == 0xC0 && message[i + 1] >= DnsHeader.Length && message[i + 1] < i) n++;
        return n;
    }
}
