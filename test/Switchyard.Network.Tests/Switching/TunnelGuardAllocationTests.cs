using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Switching;

/// <summary>The tunnel guard runs per frame on the uplink's receive thread: a remote guest's frame to
/// a local guest (passed) and a spoofed one (dropped) allocate nothing, after a warm-up.</summary>
public sealed class TunnelGuardAllocationTests
{
    private sealed class Sink : IUplinkTransport
    {
        public FrameHandler? Handler;
        public long Frames;
        public string Interface => "sink";
        public string Kind => "sink";
        public bool SupportsOffload => false;
        public void SetGuests(IReadOnlyCollection<MacAddress> macs) { }
        public void Start(FrameHandler onFrame) => Handler = onFrame;
        public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) { Frames++; return true; }
        public void Dispose() { }
    }

    [Fact]
    public void Guarding_frames_from_the_tunnel_allocates_nothing()
    {
        var remote = MacAddress.Parse("02:77:00:00:00:01");
        var leased = Ipv4Address.Parse("10.88.0.200");
        var uplink = new Sink();
        var local = new Sink();
        using var net = new VirtualNetwork(new NetworkConfig("vx", NetworkMode.Internal, Subnet, 1450, Domain, GatewayMac, () => [], TimeSpan.FromHours(1),
            DhcpRange: new DhcpRange(Ipv4Address.Parse("10.88.0.128"), Ipv4Address.Parse("10.88.0.254"))), new FakeEvents(), NullLoggerFactory.Instance, uplink);
        net.Attach(new EndpointConfig("alpha", MacA, IpA), local);
        net.RestoreRemoteLeases([new RemoteLease(remote, leased, null, LeaseState.Bound, DateTimeOffset.UtcNow.AddHours(1))]);
        var good = Frames.Udp(MacA, remote, leased, IpA, 1, 2, new byte[10]);
        var spoofed = Frames.Udp(MacA, remote, leased + 1, IpA, 1, 2, new byte[10]);

        for (int i = 0; i < 100; i++) { uplink.Handler!(good, VirtioNetHeader.None); uplink.Handler!(spoofed, VirtioNetHeader.None); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) { uplink.Handler!(good, VirtioNetHeader.None); uplink.Handler!(spoofed, VirtioNetHeader.None); }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(1100, local.Frames);
        Assert.Equal(1100, net.Uplink!.Counters.Dropped(DropReason.SpoofedIp));
        Assert.Equal(0, allocated);
    }
}
