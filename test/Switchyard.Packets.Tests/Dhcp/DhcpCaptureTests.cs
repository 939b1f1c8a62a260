using System.Buffers.Binary;
using Switchyard.Packets.Dhcp;
using Switchyard.Packets.Tests.Infrastructure;

namespace Switchyard.Packets.Tests.Dhcp;

/// <summary>Real traffic: busybox 1.35 udhcpc against dnsmasq in two network namespaces, captured on the
/// client veth (Data/dhcp-udhcpc.capture.sh). DISCOVER, DISCOVER, OFFER, REQUEST, OFFER, ACK, RELEASE.</summary>
public class DhcpCaptureTests
{
    private static readonly MacAddress ClientMac = MacAddress.Parse("02:5e:ed:00:00:02");
    private static readonly Ipv4Address Server = Ipv4Address.Parse("10.237.42.1");
    private static readonly Ipv4Address Leased = Ipv4Address.Parse("10.237.42.65");
    private const uint Xid = 0x7431DB54, ReleaseXid = 0xF3EC3423;

    /// <summary>The BOOTP payloads of the capture's Ethernet/IPv4/UDP frames.</summary>
    private static List<byte[]> Messages()
    {
        var pcap = PcapFile.Read(Path.Combine(AppContext.BaseDirectory, "Data", "dhcp-udhcpc.pcap"));
        Assert.Equal(PcapFile.LinkTypeEthernet, pcap.LinkType);
        var result = new List<byte[]>();
        foreach (var record in pcap.Records)
        {
            var frame = record.Data.AsSpan();
            Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame[12..]));
            var ip = frame[14..];
            int ihl = (ip[0] & 0xF) * 4;
            Assert.Equal(17, ip[9]);
            var udp = ip[ihl..BinaryPrimitives.ReadUInt16BigEndian(ip[2..])];
            Assert.Equal(udp.Length, BinaryPrimitives.ReadUInt16BigEndian(udp[4..]));
            result.Add(udp[8..].ToArray());
        }
        return result;
    }

    [Fact]
    public void CaptureHasTheWholeExchange()
    {
        var types = Messages().Select(m => { Assert.True(DhcpMessageReader.TryParse(m, out var r)); return r.MessageType; }).ToList();
        Assert.Equal(
            [DhcpMessageType.Discover, DhcpMessageType.Discover, DhcpMessageType.Offer, DhcpMessageType.Request,
             DhcpMessageType.Offer, DhcpMessageType.Ack, DhcpMessageType.Release],
            types);
    }

    [Fact]
    public void UdhcpcRequestsParse()
    {
        int seen = 0;
        foreach (var m in Messages())
        {
            Assert.True(DhcpMessageReader.TryParse(m, out var r));
            if (r.Op != DhcpLayout.BootRequest) continue;
            seen++;
            Assert.Equal(ClientMac, r.ClientHardwareAddress);
            Assert.Equal([1, 2, 0x5E, 0xED, 0, 0, 2], r.ClientIdentifier.ToArray());
            Assert.Equal(Ipv4Address.Any, r.RelayAddress);
            if (r.MessageType == DhcpMessageType.Release)
            {
                // RFC 2131 §4.4.6: a new xid, ciaddr set, server identifier present.
                Assert.Equal(ReleaseXid, r.TransactionId);
                Assert.Equal(Leased, r.ClientAddress);
                Assert.Equal(Server, r.ServerIdentifier);
                continue;
            }
            Assert.Equal(Xid, r.TransactionId);
            Assert.Equal(Ipv4Address.Any, r.ClientAddress);
            Assert.Equal("guest1"u8.ToArray(), r.HostName.ToArray());
            Assert.Equal((ushort)576, r.MaxMessageSize);
            foreach (byte code in new byte[] { 1, 3, 6, 15, 26, 119 }) Assert.True(r.Requests(code), $"option {code} not requested");
            if (r.MessageType == DhcpMessageType.Request)
            {
                // SELECTING state (RFC 2131 §4.3.2): requested IP and server id, ciaddr 0.
                Assert.Equal(Leased, r.RequestedIpAddress);
                Assert.Equal(Server, r.ServerIdentifier);
            }
            else
            {
                Assert.Equal(DhcpMessageType.Discover, r.MessageType);
                Assert.Null(r.RequestedIpAddress);
                Assert.Null(r.ServerIdentifier);
            }
        }
        Assert.Equal(4, seen);
    }

    [Fact]
    public void DnsmasqRepliesParse()
    {
        int seen = 0;
        foreach (var m in Messages())
        {
            Assert.True(DhcpMessageReader.TryParse(m, out var r));
            if (r.Op != DhcpLayout.BootReply) continue;
            seen++;
            Assert.True(r.MessageType is DhcpMessageType.Offer or DhcpMessageType.Ack);
            Assert.Equal(Xid, r.TransactionId);
            Assert.Equal(ClientMac, r.ClientHardwareAddress);
            Assert.Equal(Leased, r.YourAddress);
            Assert.Equal(Server, r.ServerAddress);
            Assert.Equal(Server, r.ServerIdentifier);
            Assert.False(r.BroadcastFlag);

            Assert.True(r.TryGetOption(DhcpOption.LeaseTime, out var lease));
            Assert.Equal(3600u, BinaryPrimitives.ReadUInt32BigEndian(lease));
            Assert.True(r.TryGetOption(DhcpOption.RenewalTime, out var t1));
            Assert.Equal(1800u, BinaryPrimitives.ReadUInt32BigEndian(t1));
            Assert.True(r.TryGetOption(DhcpOption.RebindingTime, out var t2));
            Assert.Equal(3150u, BinaryPrimitives.ReadUInt32BigEndian(t2));
            Assert.True(r.TryGetOption(DhcpOption.SubnetMask, out var mask));
            Assert.Equal(Ipv4Address.Parse("255.255.255.0"), Ipv4Address.Read(mask));
            Assert.True(r.TryGetOption(DhcpOption.Router, out var router));
            Assert.Equal(Server, Ipv4Address.Read(router));
            Assert.True(r.TryGetOption(DhcpOption.DomainNameServer, out var dns));
            Assert.Equal(Server, Ipv4Address.Read(dns));
            Assert.True(r.TryGetOption(DhcpOption.DomainName, out var domain));
            Assert.Equal("lab.internal"u8.ToArray(), domain.ToArray());
            Assert.True(r.TryGetOption(DhcpOption.InterfaceMtu, out var mtu));
            Assert.Equal(1400, BinaryPrimitives.ReadUInt16BigEndian(mtu));

            Assert.True(r.TryGetOption(DhcpOption.DomainSearch, out var search));
            var domains = new List<string>();
            Assert.True(DhcpDomainSearch.TryDecode(search, domains));
            Assert.Equal(["a.internal", "b.internal"], domains);
            // dnsmasq compresses the shared suffix the way our encoder does: identical bytes.
            var ours = new byte[64];
            Assert.True(DhcpDomainSearch.TryEncode(["a.internal", "b.internal"], ours, out int n));
            Assert.Equal(search.ToArray(), ours[..n]);

            if (r.MessageType == DhcpMessageType.Ack) Assert.Equal("guest1"u8.ToArray(), r.HostName.ToArray());
        }
        Assert.Equal(3, seen);
    }

    [Fact]
    public void ReplyToCapturedRequestCopiesTable3Fields()
    {
        var request = Messages()[3];
        Assert.True(DhcpMessageReader.TryParse(request, out var req));
        Assert.Equal(DhcpMessageType.Request, req.MessageType);
        var buf = new byte[576];
        var w = new DhcpMessageWriter(buf);
        w.WriteReplyHeader(req, Leased, Server);
        Assert.True(w.TryWriteMessageType(DhcpMessageType.Ack));
        Assert.True(w.TryWriteAddress(DhcpOption.ServerIdentifier, Server));
        int n = w.Finish();
        Assert.Equal(300, n);
        Assert.True(DhcpMessageReader.TryParse(buf.AsSpan(0, n), out var ack));
        Assert.Equal(DhcpLayout.BootReply, ack.Op);
        Assert.Equal(req.TransactionId, ack.TransactionId);
        Assert.Equal(req.Flags, ack.Flags);
        Assert.Equal(req.ClientHardwareAddress, ack.ClientHardwareAddress);
        Assert.Equal(Leased, ack.YourAddress);
        Assert.Equal(Server, ack.ServerAddress);
        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(0, ack.Seconds);
        Assert.Equal(request.AsSpan(28, 16).ToArray(), buf.AsSpan(28, 16).ToArray());
    }
}
