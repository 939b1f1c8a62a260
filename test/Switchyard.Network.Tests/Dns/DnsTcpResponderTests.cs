using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Dns;

/// <summary>Drives the gateway's DNS-over-TCP responder with a scripted client.</summary>
public sealed class DnsTcpResponderTests : IDisposable
{
    private const ushort ClientPort = 40001;
    private const uint Isn = 1000;
    // The responder's timers (retransmission, idle) run on this clock: they fire only when a test
    // moves it, so no test races them.
    private readonly FakeTimeProvider _time = new();
    private readonly VirtualNetwork _net;
    private readonly FakeTransport _a;
    private uint _seq = Isn + 1;
    private uint _serverIss;

    public DnsTcpResponderTests()
    {
        _net = Create(time: _time);
        _a = Attach(_net, "alpha", MacA, IpA);
    }

    public void Dispose() => _net.Dispose();

    private void Send(TcpFlags flags, ReadOnlySpan<byte> payload = default, uint? seq = null, uint? ack = null, ushort dstPort = 53, ReadOnlySpan<byte> options = default)
    {
        _a.Inject(Frames.Tcp(GatewayMac, MacA, IpA, GatewayIp, ClientPort, dstPort, seq ?? _seq, ack ?? 0, flags, payload, options));
    }

    private static byte[] MssOption()
    {
        var o = new byte[4];
        TcpOptions.WriteSynOptions(o, 1460, null);
        return o;
    }

    private void Handshake()
    {
        Send(TcpFlags.Syn, seq: Isn, options: MssOption());
        var synAck = Frames.ParseTcp(Assert.Single(_a.Sent));
        _serverIss = synAck.SequenceNumber;
        Send(TcpFlags.Ack, ack: _serverIss + 1);
        _a.Clear();
    }

    private static byte[] LengthPrefixed(byte[] message)
    {
        var b = new byte[2 + message.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)message.Length);
        message.CopyTo(b, 2);
        return b;
    }

    [Fact]
    public void Syn_GetsSynAckWithMss()
    {
        Send(TcpFlags.Syn, seq: Isn, options: MssOption());
        var frame = Assert.Single(_a.Sent);
        Assert.True(Frames.TryIpv4(frame, out var ip));
        Assert.True(ip.IsHeaderChecksumValid);
        Assert.Equal(GatewayIp, ip.Source);
        var seg = Frames.ParseTcp(frame);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, seg.Flags);
        Assert.Equal(53, seg.SourcePort);
        Assert.Equal(ClientPort, seg.DestinationPort);
        Assert.Equal(Isn + 1, seg.AcknowledgmentNumber);
        Assert.Equal((ushort)1460, seg.ReadOptions().Mss);
        Assert.True(seg.Window > 0);
    }

    [Fact]
    public void QueryInTwoSegments_IsAnsweredLengthPrefixed_ThenFinCloses()
    {
        Handshake();
        var query = LengthPrefixed(DnsTestMessages.Query("alpha.test.internal", DnsType.A, id: 0x7777));
        Send(TcpFlags.Ack | TcpFlags.Psh, query.AsSpan(0, 7), ack: _serverIss + 1);
        _seq += 7;
        // The first part is only acknowledged.
        var ack1 = Frames.ParseTcp(Assert.Single(_a.Sent));
        Assert.Equal(TcpFlags.Ack, ack1.Flags);
        Assert.Equal(_seq, ack1.AcknowledgmentNumber);
        Assert.Equal(0, ack1.Payload.Length);
        _a.Clear();

        Send(TcpFlags.Ack | TcpFlags.Psh, query.AsSpan(7), ack: _serverIss + 1);
        _seq += (uint)(query.Length - 7);

        var data = new List<byte>();
        uint expectedSeq = _serverIss + 1;
        foreach (var f in _a.Sent)
        {
            var seg = Frames.ParseTcp(f);
            Assert.True(seg.Has(TcpFlags.Ack));
            Assert.Equal(_seq, seg.AcknowledgmentNumber);
            if (seg.Payload.Length == 0) continue;
            Assert.Equal(expectedSeq, seg.SequenceNumber);
            expectedSeq += (uint)seg.Payload.Length;
            data.AddRange(seg.Payload.ToArray());
        }
        Assert.True(data.Count > 2);
        int len = BinaryPrimitives.ReadUInt16BigEndian(data.ToArray());
        Assert.Equal(data.Count - 2, len);
        var reply = DnsTestMessages.Parse(data.ToArray().AsSpan(2));
        Assert.Equal(0x7777, reply.Header.Id);
        Assert.Equal(Ipv4Address.Parse("10.88.0.10"), Assert.Single(reply.Answers).Address);

        // Acknowledge everything, then close.
        Send(TcpFlags.Ack, ack: expectedSeq);
        _a.Clear();
        Send(TcpFlags.Fin | TcpFlags.Ack, ack: expectedSeq);
        var finAck = Frames.ParseTcp(Assert.Single(_a.Sent));
        Assert.True(finAck.Has(TcpFlags.Fin | TcpFlags.Ack));
        Assert.Equal(_seq + 1, finAck.AcknowledgmentNumber);
        Assert.Equal(expectedSeq, finAck.SequenceNumber);
        _a.Clear();
        Send(TcpFlags.Ack, seq: _seq + 1, ack: expectedSeq + 1);
        Assert.Empty(_a.Sent); // closed quietly
        // The connection is gone: a stray ACK now gets a RST.
        Send(TcpFlags.Ack, seq: _seq + 1, ack: expectedSeq + 1);
        Assert.True(Frames.ParseTcp(Assert.Single(_a.Sent)).Has(TcpFlags.Rst));
    }

    [Fact]
    public void SynToOtherPort_GetsRst()
    {
        Send(TcpFlags.Syn, seq: Isn, dstPort: 54, options: MssOption());
        var seg = Frames.ParseTcp(Assert.Single(_a.Sent));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, seg.Flags);
        Assert.Equal(54, seg.SourcePort);
        Assert.Equal(Isn + 1, seg.AcknowledgmentNumber);
        Assert.Equal(0u, seg.SequenceNumber);
    }

    [Fact]
    public void AckToUnknownConnection_GetsRstWithItsAckAsSeq()
    {
        Send(TcpFlags.Ack, seq: 5000, ack: 123456);
        var seg = Frames.ParseTcp(Assert.Single(_a.Sent));
        Assert.Equal(TcpFlags.Rst, seg.Flags);
        Assert.Equal(123456u, seg.SequenceNumber);
    }

    [Fact]
    public void RstToUnknownConnection_IsIgnored()
    {
        Send(TcpFlags.Rst, seq: 5000);
        Assert.Empty(_a.Sent);
    }

    [Fact]
    public void UnacknowledgedResponse_IsRetransmitted()
    {
        Handshake();
        var query = LengthPrefixed(DnsTestMessages.Query("alpha", DnsType.A, id: 0x0102));
        Send(TcpFlags.Ack | TcpFlags.Psh, query, ack: _serverIss + 1);
        var first = _a.Sent.Select(Frames.ParseTcpCopy).First(s => s.PayloadLength > 0);
        int before = _a.Sent.Count;

        // The retransmission timer ticks every 200 ms from the connection's start: nothing before it.
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(before, _a.Sent.Count);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var again = _a.Sent.Skip(before).FirstOrDefault(f => Frames.IsTcp(f, s => s.Payload.Length > 0 && s.SequenceNumber == first.Seq));
        Assert.NotNull(again);
        var seg = Frames.ParseTcp(again);
        Assert.Equal(first.Payload, seg.Payload.ToArray());
    }

    [Fact]
    public void OutOfOrderSegment_GetsDuplicateAck()
    {
        Handshake();
        Send(TcpFlags.Ack | TcpFlags.Psh, [1, 2, 3, 4], seq: _seq + 10, ack: _serverIss + 1);
        var seg = Frames.ParseTcp(Assert.Single(_a.Sent));
        Assert.Equal(TcpFlags.Ack, seg.Flags);
        Assert.Equal(_seq, seg.AcknowledgmentNumber);
        Assert.Equal(0, seg.Payload.Length);
    }

    [Fact]
    public void RetransmittedSyn_GetsTheSameSynAck()
    {
        Send(TcpFlags.Syn, seq: Isn, options: MssOption());
        Send(TcpFlags.Syn, seq: Isn, options: MssOption());
        Assert.Equal(2, _a.Sent.Count);
        var a = Frames.ParseTcp(_a.Sent[0]).SequenceNumber;
        var b = Frames.ParseTcp(_a.Sent[1]).SequenceNumber;
        Assert.Equal(a, b);
    }

    [Fact]
    public void BadTcpChecksum_IsCountedMalformed()
    {
        var frame = Frames.Tcp(GatewayMac, MacA, IpA, GatewayIp, ClientPort, 53, Isn, 0, TcpFlags.Syn);
        frame[EthernetFrameWriter.L4Offset + 16] ^= 0xFF;
        _a.Inject(frame);
        Assert.Empty(_a.Sent);
        Assert.Equal(1, _net.Gateway.Counters.Dropped(Switchyard.Network.Switching.DropReason.Malformed));
    }
}
