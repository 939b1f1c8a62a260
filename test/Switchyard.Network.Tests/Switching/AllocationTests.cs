using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Switching;

/// <summary>The data plane allocates nothing per frame: guest-to-guest forwarding (with offload
/// metadata), the gateway's ARP and ICMP echo answers, and software segmentation for ports that
/// cannot take offloads. Measured with the thread's allocation counter, after a warm-up.</summary>
public sealed class AllocationTests
{
    /// <summary>A transport that takes frames and keeps nothing, so the test measures the switch.</summary>
    private sealed class SinkTransport(bool offload) : IFrameTransport
    {
        private FrameHandler? _handler;
        public long Frames;
        public string Kind => "sink";
        public bool SupportsOffload => offload;
        public void Start(FrameHandler onFrame) => _handler = onFrame;
        public void Inject(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => _handler!(frame, offload);
        public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) { Frames++; return true; }
        public void Dispose() { }
    }

    private static long AllocatedWhile(int count, Action each)
    {
        for (int i = 0; i < 100; i++) each(); // warm-up: JIT, thread-static buffers, learning
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < count; i++) each();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Forwarding_between_guests_allocates_nothing(bool receiverTakesOffloads)
    {
        using var net = TestNetwork.Create();
        var a = new SinkTransport(true);
        var b = new SinkTransport(receiverTakesOffloads);
        net.Attach(new EndpointConfig("a", TestNetwork.MacA, TestNetwork.IpA), a);
        net.Attach(new EndpointConfig("b", TestNetwork.MacB, TestNetwork.IpB), b);
        var fromB = Frames.Udp(TestNetwork.MacA, TestNetwork.MacB, TestNetwork.IpB, TestNetwork.IpA, 1, 2, new byte[10]);
        b.Inject(fromB, VirtioNetHeader.None); // the switch learns b

        var frame = Frames.Tcp(TestNetwork.MacB, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.IpB, 40000, 5201, 1, 1, TcpFlags.Ack, new byte[8000]);
        var job = new VirtioNetHeader(0, VirtioNetHeader.GsoTcpV4, 54, 1448, 0, 0);
        long allocated = AllocatedWhile(10_000, () => a.Inject(frame, job));

        Assert.True(b.Frames >= 10_000);
        Assert.True(allocated < 1024, $"forwarding 10,000 frames allocated {allocated} bytes");
    }

    [Fact]
    public void Gateway_arp_and_ping_answers_allocate_nothing()
    {
        using var net = TestNetwork.Create();
        var a = new SinkTransport(true);
        net.Attach(new EndpointConfig("a", TestNetwork.MacA, TestNetwork.IpA), a);
        var arp = Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, TestNetwork.MacA, TestNetwork.IpA, MacAddress.Zero, TestNetwork.GatewayIp);
        var ping = Frames.IcmpEcho(TestNetwork.GatewayMac, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.GatewayIp, 7, 1, new byte[56]);

        long allocated = AllocatedWhile(5_000, () =>
        {
            a.Inject(arp, VirtioNetHeader.None);
            a.Inject(ping, VirtioNetHeader.None);
        });

        Assert.True(a.Frames >= 10_000, $"the gateway answered {a.Frames} times");
        Assert.True(allocated < 1024, $"10,000 gateway answers allocated {allocated} bytes");
    }
}
