using Switchyard.Network.Dhcp;
using Switchyard.Network.Dns;
using Switchyard.Network.Egress;
using Switchyard.Network.Nat;
using Switchyard.Network.Telemetry;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets.Dhcp;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Switching;

/// <summary>The data plane allocates nothing per frame: guest-to-guest forwarding (with offload
/// metadata), the gateway's ARP and ICMP echo answers, and software segmentation for ports that
/// cannot take offloads; and the counters those paths and the gateway's services bump (NAT bytes,
/// DHCP and DNS replies, forwarder latency, egress decisions). Measured with the thread's allocation counter, after a warm-up.</summary>
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
    public void Counting_allocates_nothing()
    {
        var dhcp = new DhcpCounters();
        var dns = new DnsCounters();
        var latency = LatencyHistogram.ForDnsForwarding();
        var nat = new NatStatistics();
        var egress = new EgressDecisionCounters();
        byte[] reply = [0x12, 0x34, 0x81, 0x83];   // a response header's first bytes, rcode NXDOMAIN
        egress.Count(false, "not-allowed");          // the first of a reason makes its counter; later ones only count

        long allocated = AllocatedWhile(10_000, () =>
        {
            dhcp.CountReceived(DhcpMessageType.Discover);
            dhcp.CountSent(DhcpMessageType.Offer);
            dns.Count(DnsAnswerSource.Forwarded, reply, reply.Length);
            latency.Record(TimeSpan.FromMilliseconds(12));
            nat.CountFromGuests(1460);
            nat.CountToGuests(1460);
            nat.CountOpened(NatProtocol.Udp);
            egress.Count(false, "not-allowed");
        });

        Assert.Equal(10_100, dhcp.Received(DhcpMessageType.Discover));
        Assert.Equal(10_100, dns.Answers(DnsAnswerSource.Forwarded, Switchyard.Packets.Dns.DnsResponseCode.NXDomain));
        Assert.Equal(10_100, latency.Count);
        Assert.Equal(10_100L * 1460, nat.BytesFromGuests);
        Assert.Equal(10_101, Assert.Single(egress.Snapshot()).Count);
        Assert.True(allocated < 1024, $"80,000 counts allocated {allocated} bytes");
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
