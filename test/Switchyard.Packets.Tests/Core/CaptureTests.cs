namespace Switchyard.Packets.Tests.Core;

/// <summary>Frames captured by tcpdump on a veth pair between two namespaces (Data/core-capture.sh,
/// checksum offload off): ping -c 2 -s 1000 from .2 to .1, then a TCP connection from .2 to a
/// python3 http.server on .1:8080.</summary>
public class CaptureTests
{
    private static readonly Ipv4Address Server = Ipv4Address.Parse("10.239.83.1");
    private static readonly Ipv4Address Client = Ipv4Address.Parse("10.239.83.2");
    private static readonly MacAddress ServerMac = MacAddress.Parse("1a:62:30:be:f7:25");
    private static readonly MacAddress ClientMac = MacAddress.Parse("92:3d:77:a1:0f:db");

    private static List<byte[]> Frames()
    {
        var frames = CorePcap.ReadFrames(CorePcap.DataPath("core-ping-tcp.pcap"), out uint linkType);
        Assert.Equal(CorePcap.LinkTypeEthernet, linkType);
        Assert.Equal(19, frames.Count);
        return frames;
    }

    [Fact]
    public void EveryFrame_ParsesWithValidChecksums()
    {
        int arp = 0, icmp = 0, tcp = 0;
        foreach (var frame in Frames())
        {
            Assert.True(EthernetFrame.TryParse(frame, out var f));
            Assert.Equal(-1, f.VlanTci);
            Assert.True(f.Source == ServerMac || f.Source == ClientMac);
            if (f.EtherType == EtherType.Arp)
            {
                Assert.True(ArpPacket.TryParse(f.Payload, out _));
                arp++;
                continue;
            }
            Assert.Equal(EtherType.IPv4, f.EtherType);
            Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
            Assert.True(p.IsHeaderChecksumValid);
            Assert.False(p.IsFragment);
            Assert.Equal(20, p.HeaderLength);
            Assert.Equal(64, p.Ttl);
            Assert.Equal(f.Payload.Length, p.TotalLength);   // veth frames carry no padding here
            Assert.True((p.Source, p.Destination) == (Server, Client) || (p.Source, p.Destination) == (Client, Server));
            if (p.Protocol == IpProtocol.Icmp)
            {
                Assert.True(IcmpPacket.TryParse(p.Payload, out var m));
                Assert.True(m.IsChecksumValid);
                icmp++;
            }
            else
            {
                Assert.Equal(IpProtocol.Tcp, p.Protocol);
                Assert.True(TcpSegment.TryParse(p.Payload, out var s));
                Assert.True(s.IsChecksumValid(p.Source, p.Destination));
                Assert.False(s.IsChecksumValid(p.Destination + 1, p.Source));
                tcp++;
            }
        }
        Assert.Equal((2, 4, 13), (arp, icmp, tcp));
    }

    [Fact]
    public void Arp_RequestAndReply()
    {
        var frames = Frames();
        Assert.True(EthernetFrame.TryParse(frames[0], out var f0));
        Assert.True(f0.Destination.IsBroadcast);
        Assert.True(ArpPacket.TryParse(f0.Payload, out var req));
        Assert.Equal(ArpPacket.OpRequest, req.Operation);
        Assert.Equal(ClientMac, req.SenderMac);
        Assert.Equal(Client, req.SenderIp);
        Assert.Equal(MacAddress.Zero, req.TargetMac);
        Assert.Equal(Server, req.TargetIp);
        Assert.False(req.IsProbeOrAnnouncement);

        Assert.True(EthernetFrame.TryParse(frames[1], out var f1));
        Assert.Equal(ClientMac, f1.Destination);
        Assert.True(ArpPacket.TryParse(f1.Payload, out var rep));
        Assert.Equal(ArpPacket.OpReply, rep.Operation);
        Assert.Equal(ServerMac, rep.SenderMac);
        Assert.Equal(Server, rep.SenderIp);
        Assert.Equal(ClientMac, rep.TargetMac);
        Assert.Equal(Client, rep.TargetIp);
    }

    [Fact]
    public void Icmp_EchoRequestsAndReplies()
    {
        var frames = Frames();
        byte[] types = [IcmpPacket.TypeEchoRequest, IcmpPacket.TypeEchoReply, IcmpPacket.TypeEchoRequest, IcmpPacket.TypeEchoReply];
        ushort[] seqs = [1, 1, 2, 2];
        for (int i = 0; i < 4; i++)
        {
            Assert.True(EthernetFrame.TryParse(frames[2 + i], out var f));
            Assert.Equal(1042, frames[2 + i].Length);
            Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
            Assert.Equal(1028, p.TotalLength);
            Assert.Equal(types[i] == IcmpPacket.TypeEchoRequest, p.DontFragment);   // Linux sets DF on ping, not on its replies
            Assert.True(IcmpPacket.TryParse(p.Payload, out var m));
            Assert.Equal(types[i], m.Type);
            Assert.Equal(0, m.Code);
            Assert.Equal(11943, m.Identifier);
            Assert.Equal(seqs[i], m.Sequence);
            Assert.Equal(1000, m.Payload.Length);
            Assert.True(m.IsChecksumValid);
        }
    }

    [Fact]
    public void Tcp_SynAndSynAckOptions()
    {
        var frames = Frames();
        Assert.True(EthernetFrame.TryParse(frames[6], out var f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(p.DontFragment);
        Assert.True(TcpSegment.TryParse(p.Payload, out var syn));
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        Assert.Equal(59430, syn.SourcePort);
        Assert.Equal(8080, syn.DestinationPort);
        Assert.Equal(3430200659u, syn.SequenceNumber);
        Assert.Equal(64240, syn.Window);
        Assert.Equal(40, syn.HeaderLength);
        var o = syn.ReadOptions();
        Assert.Equal((ushort)1460, o.Mss);
        Assert.True(o.SackPermitted);
        Assert.True(o.HasTimestamps);
        Assert.Equal(2024505169u, o.TimestampValue);
        Assert.Equal(0u, o.TimestampEcho);
        Assert.Equal((byte)10, o.WindowScale);

        Assert.True(EthernetFrame.TryParse(frames[7], out f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out p));
        Assert.True(TcpSegment.TryParse(p.Payload, out var synAck));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.True(synAck.Has(TcpFlags.Syn));
        Assert.Equal(1852448448u, synAck.SequenceNumber);
        Assert.Equal(3430200660u, synAck.AcknowledgmentNumber);
        Assert.Equal(65160, synAck.Window);
        o = synAck.ReadOptions();
        Assert.Equal((ushort)1460, o.Mss);
        Assert.True(o.SackPermitted);
        Assert.Equal(455368348u, o.TimestampValue);
        Assert.Equal(2024505169u, o.TimestampEcho);
        Assert.Equal((byte)10, o.WindowScale);
    }

    [Fact]
    public void Tcp_DataSegments_TimestampsOnly()
    {
        var frames = Frames();
        Assert.True(EthernetFrame.TryParse(frames[9], out var f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out var p));
        Assert.True(TcpSegment.TryParse(p.Payload, out var s));
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, s.Flags);
        Assert.Equal(32, s.HeaderLength);
        Assert.Equal("GET / HTTP/1.0", System.Text.Encoding.ASCII.GetString(s.Payload).TrimEnd());
        var o = s.ReadOptions();
        Assert.Null(o.Mss);
        Assert.Null(o.WindowScale);
        Assert.False(o.SackPermitted);
        Assert.True(o.HasTimestamps);
        Assert.Equal(2024505170u, o.TimestampValue);
        Assert.Equal(455368348u, o.TimestampEcho);

        Assert.True(EthernetFrame.TryParse(frames[^1], out f));
        Assert.True(Ipv4Packet.TryParse(f.Payload, out p));
        Assert.True(TcpSegment.TryParse(p.Payload, out s));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, s.Flags);
    }
}
