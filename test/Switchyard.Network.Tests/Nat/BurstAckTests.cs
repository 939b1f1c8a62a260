using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Nat;

/// <summary>In-order guest data read in one receive burst (<see cref="ReceiveBurst"/>: the frames a TAP
/// port's thread reads back to back) is acknowledged once, when the burst ends; out-of-order data is still
/// acknowledged segment by segment (each duplicate ACK counts for the guest's fast retransmit), and a
/// thread outside any burst acknowledges at once, as before. A real host socket on 127.0.0.1 takes the data.</summary>
public sealed class BurstAckTests : IDisposable
{
    private const int Payload = 1460;   // the guest's SYN gives no MSS: 536 (RFC 9293 §3.7.1), so these are full segments

    /// <summary>Counts the frames the guest gets and keeps the last one's ACK number and flags.</summary>
    private sealed class AckSink : IFrameTransport
    {
        private FrameHandler? _handler;
        public int Frames;
        public uint LastAck;
        public uint PeerIss;
        public string Kind => "sink";
        public bool SupportsOffload => true;
        public void Start(FrameHandler onFrame) => _handler = onFrame;
        public void Inject(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => _handler!(frame, offload);
        public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
        {
            var tcp = frame[EthernetFrameWriter.L4Offset..];
            if ((tcp[13] & 0x12) == 0x12) PeerIss = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
            LastAck = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
            Interlocked.Increment(ref Frames);
            return true;
        }
        public void Dispose() { }
    }

    private readonly TcpListener _server = new(IPAddress.Loopback, 0);
    private readonly VirtualNetwork _net;
    private readonly AckSink _guest = new();
    private readonly Socket _conn;
    private readonly Thread _drain;
    private readonly byte[] _frame;
    private readonly VirtioNetHeader _partial = new(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, 0, 0, EthernetFrameWriter.L4Offset, 16);
    private uint _seq = 1000;

    public BurstAckTests()
    {
        _server.Start();
        ushort port = (ushort)((IPEndPoint)_server.LocalEndpoint).Port;
        _net = TestNetwork.Create(NetworkMode.Nat);
        _net.Attach(new EndpointConfig("a", TestNetwork.MacA, TestNetwork.IpA), _guest);
        _guest.Inject(Frames.Tcp(TestNetwork.GatewayMac, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.GatewayIp, 40001, port, _seq, 0, TcpFlags.Syn),
            VirtioNetHeader.None);
        _conn = _server.AcceptSocket();
        Assert.True(SpinWait.SpinUntil(() => _guest.PeerIss != 0, 5000), "no SYN-ACK");
        _seq++;
        // Keeps the host socket's buffer from filling.
        _drain = new Thread(() => { var b = new byte[65536]; try { while (_conn.Receive(b) > 0) { } } catch (Exception e) when (e is SocketException or ObjectDisposedException) { } })
            { IsBackground = true };
        _drain.Start();
        // One full segment, its sequence number rewritten in place for each send; a partial checksum as a TAP guest's.
        _frame = Frames.Tcp(TestNetwork.GatewayMac, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.GatewayIp, 40001, port, _seq, _guest.PeerIss + 1,
            TcpFlags.Ack, new byte[Payload]);
        // Handshake ACK: the flow is established, and nothing is owed to the guest yet.
        _guest.Inject(Frames.Tcp(TestNetwork.GatewayMac, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.GatewayIp, 40001, port, _seq, _guest.PeerIss + 1,
            TcpFlags.Ack), VirtioNetHeader.None);
    }

    public void Dispose()
    {
        _net.Dispose();
        _conn.Dispose();
        _server.Stop();
    }

    private void SendSegment(uint seq)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_frame.AsSpan(EthernetFrameWriter.L4Offset + 4), seq);
        _guest.Inject(_frame, _partial);
    }

    private void SendNext()
    {
        SendSegment(_seq);
        _seq += Payload;
    }

    [Fact]
    public void Segments_of_one_burst_get_one_ack_when_it_ends()
    {
        int before = _guest.Frames;
        ReceiveBurst.Begin();
        try
        {
            for (int i = 0; i < 8; i++) SendNext();
            Assert.Equal(before, _guest.Frames);   // nothing yet: the burst is still being read
        }
        finally { ReceiveBurst.End(); }
        Assert.Equal(before + 1, _guest.Frames);
        Assert.Equal(_seq, _guest.LastAck);
    }

    [Fact]
    public void A_long_burst_acknowledges_every_quarter_window_so_the_guest_keeps_sending()
    {
        const int quarter = 512 * 1024 / 4;   // TcpFlow.ToHostCapacity / 4
        int before = _guest.Frames;
        uint start = _seq;
        ReceiveBurst.Begin();
        try
        {
            while (_seq - start < 3 * quarter) SendNext();
            // One ACK each time a quarter of the window went unacknowledged, none for the rest yet.
            int acks = _guest.Frames - before;
            Assert.InRange(acks, 2, 3);
            Assert.True(_seq - _guest.LastAck < quarter, $"{_seq - _guest.LastAck} bytes unacknowledged");
        }
        finally { ReceiveBurst.End(); }
        Assert.Equal(_seq, _guest.LastAck);
    }

    [Fact]
    public void Out_of_order_segments_in_a_burst_are_each_acknowledged_at_once()
    {
        ReceiveBurst.Begin();
        try
        {
            SendNext();   // in order: deferred
            int before = _guest.Frames;
            // Three segments past a gap: three duplicate ACKs for the guest's fast retransmit (RFC 5681 §3.2).
            for (int i = 1; i <= 3; i++)
            {
                SendSegment(_seq + (uint)(i * Payload));
                Assert.Equal(before + i, _guest.Frames);
                Assert.Equal(_seq, _guest.LastAck);
            }
        }
        finally { ReceiveBurst.End(); }
    }

    [Fact]
    public void Outside_a_burst_each_full_segment_is_acknowledged_at_once()
    {
        Assert.False(ReceiveBurst.IsOpen);
        for (int i = 1; i <= 3; i++)
        {
            int before = _guest.Frames;
            SendNext();
            Assert.Equal(before + 1, _guest.Frames);
            Assert.Equal(_seq, _guest.LastAck);
        }
    }

    [Fact]
    public void A_burst_of_segments_allocates_nothing()
    {
        void Burst()
        {
            ReceiveBurst.Begin();
            try { for (int i = 0; i < 8; i++) SendNext(); }
            finally { ReceiveBurst.End(); }
        }
        for (int i = 0; i < 50; i++) Burst();   // warm-up: JIT, buffers, the thread's list of waiting work
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 625; i++) Burst();   // 5,000 segments
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"5,000 guest segments in bursts of 8 allocated {allocated} bytes");
        Assert.Equal(_seq, _guest.LastAck);
    }
}
