using System.Net;
using System.Net.Sockets;
using PacketDotNet;
using Switchyard.Network.Nat;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

/// <summary>The NAT's TCP translation, driven by a scripted guest on one side and real host
/// sockets on 127.0.0.1 on the other (reached through the gateway address: host loopback).
/// Every frame the guest gets is checked against PacketDotNet as an independent parser.</summary>
public sealed class TcpNatTests : IDisposable
{
    private const ushort GuestPort = 41000;
    private const uint Isn = 5000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);   // real peers: a generous bound

    private readonly VirtualNetwork _net;
    private readonly FakeTransport _guest;
    private readonly TcpListener _server = new(IPAddress.Loopback, 0);
    private uint _seq = Isn + 1, _peerNext;
    private int _seen;

    public TcpNatTests()
    {
        _net = Create(NetworkMode.Nat);
        _guest = Attach(_net, "alpha", MacA, IpA);
        _server.Start();
    }

    private ushort ServerPort => (ushort)((IPEndPoint)_server.LocalEndpoint).Port;

    public void Dispose()
    {
        _server.Stop();
        _net.Dispose();
    }

    private void Send(TcpFlags flags, ReadOnlySpan<byte> payload = default, uint? seq = null, uint? ack = null, ushort? dstPort = null,
        ReadOnlySpan<byte> options = default, Ipv4Address? dst = null, ushort window = 65535) =>
        _guest.Inject(Frames.Tcp(GatewayMac, MacA, IpA, dst ?? GatewayIp, GuestPort, dstPort ?? ServerPort, seq ?? _seq, ack ?? _peerNext, flags, payload, options, window));

    /// <summary>The next TCP frame to the guest, checked by PacketDotNet (checksums, ports, addresses).</summary>
    private TcpPacket Next(Func<TcpPacket, bool>? match = null)
    {
        byte[]? frame = null;
        var deadline = DateTime.UtcNow + Wait;
        while (frame is null && DateTime.UtcNow < deadline)
        {
            var sent = _guest.Sent;
            for (int i = _seen; i < sent.Count; i++)
            {
                var p = Oracle(sent[i]);
                if (p is not null && (match is null || match(p))) { frame = sent[i]; _seen = i + 1; break; }
            }
            if (frame is null) _guest.WaitFor(_ => true, TimeSpan.FromMilliseconds(20), skip: sent.Count);
        }
        Assert.NotNull(frame);
        return Oracle(frame)!;
    }

    private static TcpPacket? Oracle(byte[] frame)
    {
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        if (eth.PayloadPacket is not IPv4Packet ip || ip.PayloadPacket is not TcpPacket tcp) return null;
        Assert.True(ip.ValidChecksum, "IPv4 header checksum");
        Assert.True(tcp.ValidChecksum, "TCP checksum");
        Assert.Equal(MacA.ToString(), Format(eth.DestinationHardwareAddress.GetAddressBytes()));
        Assert.Equal(IpA.ToString(), ip.DestinationAddress.ToString());
        return tcp;
    }

    private static string Format(byte[] mac) => string.Join(':', mac.Select(b => b.ToString("x2")));

    private static byte[] SynOptions(ushort mss = 1460, byte? scale = 7)
    {
        var o = new byte[8];
        return o[..TcpOptions.WriteSynOptions(o, mss, scale)];
    }

    private Socket Connect()
    {
        Send(TcpFlags.Syn, seq: Isn, ack: 0, options: SynOptions());
        var synAck = Next();
        Assert.True(synAck.Synchronize && synAck.Acknowledgment);
        _peerNext = synAck.SequenceNumber + 1;
        Send(TcpFlags.Ack);
        Assert.True(_server.Server.Poll(Wait, SelectMode.SelectRead));
        return _server.AcceptSocket();
    }

    [Fact]
    public void Syn_IsAnsweredAfterTheHostConnects_WithOurMssAndWindowScale()
    {
        Send(TcpFlags.Syn, seq: Isn, ack: 0, options: SynOptions());
        var synAck = Next();
        Assert.True(synAck.Synchronize && synAck.Acknowledgment);
        Assert.Equal(Isn + 1, synAck.AcknowledgmentNumber);
        Assert.Equal(ServerPort, synAck.SourcePort);
        Assert.Equal(GuestPort, synAck.DestinationPort);
        Assert.True(TcpSegment.TryParse(synAck.Bytes, out var parsedSegment));
        var parsed = parsedSegment.ReadOptions();
        Assert.Equal((ushort)1460, parsed.Mss);
        Assert.Equal((byte)7, parsed.WindowScale);
        Assert.Equal(1, _net.Nat!.TcpFlowCount);
    }

    [Fact]
    public void Syn_ToAClosedPort_GetsRstAck()
    {
        int closed;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); closed = ((IPEndPoint)probe.LocalEndpoint).Port; probe.Stop(); }
        Send(TcpFlags.Syn, seq: Isn, ack: 0, dstPort: (ushort)closed, options: SynOptions());
        var rst = Next();
        Assert.True(rst.Reset && rst.Acknowledgment);
        Assert.Equal(Isn + 1, rst.AcknowledgmentNumber);
        Assert.True(SpinWait.SpinUntil(() => _net.Nat!.TcpFlowCount == 0, Wait));
    }

    [Fact]
    public void GuestData_ReachesTheHostInOrder_AndIsAcknowledged()
    {
        using var conn = Connect();
        var a = "hello, "u8.ToArray();
        var b = "outside world"u8.ToArray();
        Send(TcpFlags.Ack | TcpFlags.Psh, a);
        _seq += (uint)a.Length;
        Send(TcpFlags.Ack | TcpFlags.Psh, b);
        _seq += (uint)b.Length;
        var ack = Next(p => p.AcknowledgmentNumber == _seq);
        Assert.True(ack.Acknowledgment);
        var buf = new byte[64];
        conn.ReceiveTimeout = 10_000;
        int n = 0;
        while (n < a.Length + b.Length) n += conn.Receive(buf, n, buf.Length - n, SocketFlags.None);
        Assert.Equal("hello, outside world", System.Text.Encoding.ASCII.GetString(buf, 0, n));
    }

    [Fact]
    public void A_retransmitted_segment_is_not_delivered_twice()
    {
        using var conn = Connect();
        var data = "once"u8.ToArray();
        Send(TcpFlags.Ack | TcpFlags.Psh, data);
        Send(TcpFlags.Ack | TcpFlags.Psh, data);   // the same bytes again, same sequence number
        _seq += (uint)data.Length;
        Send(TcpFlags.Ack | TcpFlags.Psh, "!"u8);
        _seq += 1;
        Next(p => p.AcknowledgmentNumber == _seq);
        var buf = new byte[16];
        conn.ReceiveTimeout = 10_000;
        int n = 0;
        while (n < 5) n += conn.Receive(buf, n, buf.Length - n, SocketFlags.None);
        Thread.Sleep(50);
        Assert.Equal(0, conn.Available);
        Assert.Equal("once!", System.Text.Encoding.ASCII.GetString(buf, 0, n));
    }

    [Fact]
    public void HostData_ArrivesInMssSegments_OnlyAsFarAsTheGuestWindow_AndResumesOnAck()
    {
        using var conn = Connect();
        var data = new byte[200_000];
        Random.Shared.NextBytes(data);
        conn.Send(data);
        var received = new MemoryStream();
        // A window of 16 KiB (128 scaled by 2^7): the NAT must never send past it.
        const ushort windowField = 128;
        Send(TcpFlags.Ack, window: windowField);
        uint acked = _peerNext;
        while (received.Length < data.Length)
        {
            uint expect = _peerNext;
            var seg = Next(p => p.PayloadData is { Length: > 0 } && p.SequenceNumber == expect);
            Assert.True(seg.PayloadData.Length <= 1460, $"segment of {seg.PayloadData.Length} bytes");
            Assert.True(seg.SequenceNumber + (uint)seg.PayloadData.Length - acked <= 128 << 7, "sent past the guest's window");
            received.Write(seg.PayloadData);
            _peerNext += (uint)seg.PayloadData.Length;
            Send(TcpFlags.Ack, window: windowField);
            acked = _peerNext;
        }
        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public void Host_bytes_keep_their_order_when_a_guest_ack_comes_while_the_wait_for_data_holds_some()
    {
        // Regression: the wait for host data (an async receive of up to 1 KiB) took the first
        // bytes, and before its completion got the flow's lock a guest ACK read the next bytes
        // straight from the socket and sent them first: a reordered (or, with a full queue, a
        // shortened) stream with valid checksums. The test holds the flow's lock to make that
        // interleaving certain.
        Send(TcpFlags.Syn, seq: Isn, ack: 0, options: SynOptions());
        var synAck = Next();
        _peerNext = synAck.SequenceNumber + 1;
        Send(TcpFlags.Ack, window: 1);   // 128 bytes: the window update below makes the flow read on
        Assert.True(_server.Server.Poll(Wait, SelectMode.SelectRead));
        using var conn = _server.AcceptSocket();
        var flow = Assert.Single(Field<System.Collections.IDictionary>(_net.Nat!, "_tcp").Values.Cast<object>());
        object gate = Field<object>(flow, "_lock");
        var wait = Field<SocketAsyncEventArgs>(flow, "_readArgs");
        var socket = Field<Socket>(flow, "_socket");

        Monitor.Enter(gate);
        try
        {
            conn.Send("first"u8.ToArray());
            // The wait's receive has the bytes; its completion now waits for the lock.
            Assert.True(SpinWait.SpinUntil(() => wait.BytesTransferred == 5, Wait));
            conn.Send("second"u8.ToArray());
            Assert.True(SpinWait.SpinUntil(() => socket.Available == 6, Wait));
            Send(TcpFlags.Ack, window: 512);   // on this thread: the lock is re-entered
        }
        finally { Monitor.Exit(gate); }

        var stream = new byte[11];
        for (int got = 0; got < stream.Length;)
        {
            var seg = Next(p => p.PayloadData is { Length: > 0 });
            int at = (int)(seg.SequenceNumber - _peerNext);
            Assert.InRange(at, 0, stream.Length - seg.PayloadData.Length);
            seg.PayloadData.CopyTo(stream, at);
            got += seg.PayloadData.Length;
        }
        Assert.Equal("firstsecond", System.Text.Encoding.ASCII.GetString(stream));
    }

    private static T Field<T>(object owner, string name) =>
        (T)owner.GetType().GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(owner)!;

    [Fact]
    public void Unacknowledged_data_is_retransmitted_from_the_oldest_byte()
    {
        using var conn = Connect();
        conn.Send("ping"u8.ToArray());
        var first = Next(p => p.PayloadData is { Length: 4 });
        var again = Next(p => p.PayloadData is { Length: 4 });   // no ACK from us: it comes back after the RTO
        Assert.Equal(first.SequenceNumber, again.SequenceNumber);
        _peerNext = first.SequenceNumber + 4;
        Send(TcpFlags.Ack);
    }

    [Fact]
    public void Half_close_each_direction_on_its_own()
    {
        using var conn = Connect();
        // The guest finishes sending; the host sees EOF but can still answer.
        Send(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, "question"u8);
        _seq += 9;
        Next(p => p.AcknowledgmentNumber == _seq);
        conn.ReceiveTimeout = 10_000;
        var buf = new byte[32];
        int n = 0, r;
        while ((r = conn.Receive(buf, n, buf.Length - n, SocketFlags.None)) > 0) n += r;
        Assert.Equal("question", System.Text.Encoding.ASCII.GetString(buf, 0, n));
        conn.Send("answer"u8.ToArray());
        conn.Shutdown(SocketShutdown.Send);
        var data = Next(p => p.PayloadData is { Length: > 0 });
        Assert.Equal("answer", System.Text.Encoding.ASCII.GetString(data.PayloadData));
        _peerNext = data.SequenceNumber + (uint)data.PayloadData.Length;
        var fin = data.Finished ? data : Next(p => p.Finished);
        _peerNext = fin.SequenceNumber + (uint)fin.PayloadData.Length + 1;
        Send(TcpFlags.Ack);
        Assert.True(SpinWait.SpinUntil(() => _net.Nat!.TcpFlowCount == 0, Wait));
    }

    [Fact]
    public void Guest_rst_resets_the_host_connection()
    {
        using var conn = Connect();
        Send(TcpFlags.Rst | TcpFlags.Ack);
        conn.ReceiveTimeout = 10_000;
        var e = Assert.Throws<SocketException>(() => conn.Receive(new byte[8]));
        Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        Assert.Equal(0, _net.Nat!.TcpFlowCount);
    }

    [Fact]
    public void Host_reset_reaches_the_guest_as_rst()
    {
        var conn = Connect();
        conn.LingerState = new LingerOption(true, 0);
        conn.Dispose();
        var rst = Next(p => p.Reset);
        Assert.Equal(_seq, rst.AcknowledgmentNumber);
    }

    [Fact]
    public void A_segment_for_no_connection_gets_rst()
    {
        Send(TcpFlags.Ack, seq: 777, ack: 4242);
        var rst = Next(p => p.Reset);
        Assert.Equal(4242u, rst.SequenceNumber);
    }

    [Fact]
    public void A_host_network_does_not_reach_outside_addresses()
    {
        using var host = Create(NetworkMode.Host);
        var guest = Attach(host, "alpha", MacA, IpA);
        guest.Inject(Frames.Tcp(GatewayMac, MacA, IpA, Ipv4Address.Parse("192.0.2.1"), GuestPort, 80, Isn, 0, TcpFlags.Syn, default, SynOptions()));
        var rst = guest.WaitFor(f => Frames.IsTcp(f, s => s.Has(TcpFlags.Rst)), Wait);
        Assert.NotNull(rst);
        Assert.Equal(0, host.Nat!.TcpFlowCount);
        Assert.Equal(1, host.Nat.Statistics.Refused(NatProtocol.Tcp));
        Assert.Equal(0, host.Nat.Statistics.Opened(NatProtocol.Tcp));
    }

    [Fact]
    public void Without_host_loopback_the_gateway_port_is_refused()
    {
        var config = new NetworkConfig("nolo", NetworkMode.Nat, Subnet, 1500, Domain, GatewayMac, () => [], TimeSpan.FromHours(1), HostLoopback: false);
        using var net = new VirtualNetwork(config, new FakeEvents(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var guest = Attach(net, "alpha", MacA, IpA);
        guest.Inject(Frames.Tcp(GatewayMac, MacA, IpA, GatewayIp, GuestPort, ServerPort, Isn, 0, TcpFlags.Syn, default, SynOptions()));
        Assert.NotNull(guest.WaitFor(f => Frames.IsTcp(f, s => s.Has(TcpFlags.Rst)), Wait));
        Assert.False(_server.Server.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead));
    }

    [Fact]
    public void Published_port_opens_a_connection_to_the_guest_from_the_gateway_address()
    {
        var spec = new PublishedPort(IPAddress.Loopback, 0, 8080, System.Net.Sockets.ProtocolType.Tcp);
        int hostPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); hostPort = ((IPEndPoint)probe.LocalEndpoint).Port; probe.Stop(); }
        using var published = _net.Publish("alpha", spec with { HostPort = hostPort });
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        var connecting = client.ConnectAsync(IPAddress.Loopback, hostPort);
        var syn = Next(p => p.Synchronize);
        Assert.Equal(8080, syn.DestinationPort);
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, _guest.Sent[_seen - 1]);
        Assert.Equal(GatewayIp.ToString(), ((IPv4Packet)eth.PayloadPacket).SourceAddress.ToString());
        // The guest accepts: SYN-ACK from 8080 to the client's port.
        _guest.Inject(Frames.Tcp(GatewayMac, MacA, IpA, GatewayIp, 8080, syn.SourcePort, 9000, syn.SequenceNumber + 1,
            TcpFlags.Syn | TcpFlags.Ack, default, SynOptions()));
        Assert.True(((IAsyncResult)connecting).AsyncWaitHandle.WaitOne(Wait));
        client.Send("GET /"u8.ToArray());
        var data = Next(p => p.PayloadData is { Length: > 0 });
        Assert.Equal("GET /", System.Text.Encoding.ASCII.GetString(data.PayloadData));

        var stats = _net.Nat!.Statistics;
        Assert.Equal(1, stats.PublishedConnections);
        Assert.Equal(1, stats.Opened(NatProtocol.Tcp));
        Assert.Equal(5, stats.BytesToGuests);   // read from the client's socket for the guest
        var flow = Assert.Single(_net.Nat.SnapshotFlows(10));
        Assert.True(flow.Published);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(IpA.ToString()), 8080), flow.GuestEndPoint);
        Assert.Equal(IPAddress.Parse(GatewayIp.ToString()), flow.Destination.Address);   // a loopback client shows as the gateway
        Assert.Equal(5, flow.BytesToGuest);
    }

    [Fact]
    public void Statistics_and_the_flow_snapshot_count_payload_bytes_each_way()
    {
        using var conn = Connect();
        var stats = _net.Nat!.Statistics;
        Assert.Equal(1, stats.Opened(NatProtocol.Tcp));
        Send(TcpFlags.Ack | TcpFlags.Psh, "hello"u8);
        _seq += 5;
        var buf = new byte[16];
        conn.ReceiveTimeout = 10_000;
        int n = 0;
        while (n < 5) n += conn.Receive(buf, n, buf.Length - n, SocketFlags.None);
        conn.Send("world!"u8.ToArray());
        var data = Next(p => p.PayloadData is { Length: > 0 });
        Assert.Equal("world!", System.Text.Encoding.ASCII.GetString(data.PayloadData));

        Assert.Equal(5, stats.BytesFromGuests);
        Assert.Equal(6, stats.BytesToGuests);
        Assert.Equal(0, stats.Refused(NatProtocol.Tcp));
        var flow = Assert.Single(_net.Nat.SnapshotFlows(500));
        Assert.Equal(NatProtocol.Tcp, flow.Protocol);
        Assert.Equal(MacA, flow.Guest);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(IpA.ToString()), GuestPort), flow.GuestEndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(GatewayIp.ToString()), ServerPort), flow.Destination);
        Assert.Equal("established", flow.State);
        Assert.Equal(5, flow.BytesFromGuest);
        Assert.Equal(6, flow.BytesToGuest);
        Assert.False(flow.Published);
        Assert.True(flow.Age >= flow.Idle);
        Assert.Empty(_net.Nat.SnapshotFlows(0));

        // The guest half-closes: the flow says so.
        Send(TcpFlags.Fin | TcpFlags.Ack);
        _seq++;
        Next(p => p.AcknowledgmentNumber == _seq);
        Assert.Equal("fin-wait", Assert.Single(_net.Nat.SnapshotFlows(500)).State);
    }

    [Fact]
    public void Publishing_a_port_in_use_is_a_clear_error()
    {
        var spec = new PublishedPort(IPAddress.Loopback, ServerPort, 80, System.Net.Sockets.ProtocolType.Tcp);
        var e = Assert.Throws<PublishException>(() => _net.Publish("alpha", spec));
        Assert.Contains("already in use", e.Message);
    }

    [Fact]
    public void Detaching_the_guest_resets_its_host_connections()
    {
        using var conn = Connect();
        _net.Detach("alpha");
        conn.ReceiveTimeout = 10_000;
        var e = Assert.Throws<SocketException>(() => conn.Receive(new byte[8]));
        Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
    }
}
