using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Nat;

/// <summary>The NAT's TCP path allocates nothing per segment: a guest's data segments into an
/// established flow (written to the host socket, acknowledged to the guest) in steady state.</summary>
public sealed class NatAllocationTests
{
    private sealed class SinkTransport : IFrameTransport
    {
        private FrameHandler? _handler;
        public long Frames;
        public uint LastAck;
        public uint PeerIss;
        public string Kind => "sink";
        public bool SupportsOffload => true;
        public void Start(FrameHandler onFrame) => _handler = onFrame;
        public void Inject(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => _handler!(frame, offload);
        public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
        {
            Frames++;
            var tcp = frame[EthernetFrameWriter.L4Offset..];
            LastAck = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
            if ((tcp[13] & 0x12) == 0x12) PeerIss = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
            return true;
        }
        public void Dispose() { }
    }

    [Fact]
    public void Guest_data_segments_allocate_nothing()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        ushort port = (ushort)((IPEndPoint)server.LocalEndpoint).Port;
        using var net = TestNetwork.Create(NetworkMode.Nat);
        var guest = new SinkTransport();
        net.Attach(new EndpointConfig("a", TestNetwork.MacA, TestNetwork.IpA), guest);

        uint seq = 1000;
        var syn = Frames.Tcp(TestNetwork.GatewayMac, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.GatewayIp, 40000, port, seq, 0, TcpFlags.Syn);
        guest.Inject(syn, VirtioNetHeader.None);
        using var conn = server.AcceptSocket();
        Assert.True(SpinWait.SpinUntil(() => guest.PeerIss != 0, 3000));
        seq++;
        // A reader that keeps the host socket's buffer from filling.
        var drain = new Thread(() => { var b = new byte[65536]; try { while (conn.Receive(b) > 0) { } } catch (Exception e) when (e is SocketException or ObjectDisposedException) { } }) { IsBackground = true };
        drain.Start();

        // One full-size segment, its sequence number rewritten in place each time; a partial checksum
        // (as a TAP guest sends) so the frame need not be re-summed.
        var frame = Frames.Tcp(TestNetwork.GatewayMac, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.GatewayIp, 40000, port, seq, guest.PeerIss + 1,
            TcpFlags.Ack, new byte[1460]);
        var partial = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, 0, 0, EthernetFrameWriter.L4Offset, 16);
        void SendOne()
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(EthernetFrameWriter.L4Offset + 4), seq);
            guest.Inject(frame, partial);
            seq += 1460;
        }
        for (int i = 0; i < 200; i++) SendOne();   // warm-up: JIT, buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5_000; i++) SendOne();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(SpinWait.SpinUntil(() => guest.LastAck == seq, 3000), $"acknowledged {guest.LastAck}, sent up to {seq}");
        Assert.True(allocated < 1024, $"5,000 guest segments allocated {allocated} bytes");
        // The segments measured were counted on the way (the per-frame byte counters are in the path above).
        Assert.True(SpinWait.SpinUntil(() => net.Nat!.Statistics.BytesFromGuests == 5_200L * 1460, 3000), $"counted {net.Nat!.Statistics.BytesFromGuests}");
    }
}
