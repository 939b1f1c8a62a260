using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

/// <summary>Runs alone, so other tests' work does not land on the threads it measures.</summary>
[CollectionDefinition(nameof(UdpNatAllocationTests), DisableParallelization = true)]
public sealed class UdpNatAllocationCollection;

/// <summary>The NAT's UDP path allocates nothing per datagram once a flow exists: the guest's
/// datagram onto the host socket (measured on the guest's thread), and the reply from the readiness
/// peek through the receive into the reply frame and the switch to the guest (measured on whichever
/// thread delivers replies, between one delivery and the next on that thread).</summary>
[Collection(nameof(UdpNatAllocationTests))]
public sealed class UdpNatAllocationTests
{
    private sealed class CountingTransport : IFrameTransport
    {
        [ThreadStatic] private static long t_lastAllocated;
        private FrameHandler? _handler;
        private long _frames, _betweenReplies;
        public long Frames => Volatile.Read(ref _frames);
        /// <summary>Bytes the delivering threads allocated from one reply to their next (a thread's first reply excluded).</summary>
        public long BetweenReplies => Volatile.Read(ref _betweenReplies);
        public string Kind => "counting";
        public bool SupportsOffload => true;
        public void Start(FrameHandler onFrame) => _handler = onFrame;
        public void Inject(ReadOnlySpan<byte> frame) => _handler!(frame, VirtioNetHeader.None);

        public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (t_lastAllocated != 0) Interlocked.Add(ref _betweenReplies, now - t_lastAllocated);
            t_lastAllocated = now;
            Interlocked.Increment(ref _frames);
            return true;
        }

        public void Dispose() { }
    }

    [Fact]
    public void Udp_round_trips_allocate_nothing_per_datagram()
    {
        using var net = Create(NetworkMode.Nat);
        var guest = new CountingTransport();
        net.Attach(new EndpointConfig("a", MacA, IpA), guest);
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.ReceiveTimeout = 5000;
        var frame = Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 40500, (ushort)((IPEndPoint)server.LocalEndPoint!).Port, new byte[64]);
        var buffer = new byte[2048];

        // The first datagram opens the flow; the server then talks only to the NAT's socket.
        guest.Inject(frame);
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        server.ReceiveFrom(buffer, ref from);
        server.Connect(from);
        server.Send(buffer.AsSpan(0, 64));
        WaitForFrames(guest, 1);

        void RoundTrip()
        {
            long before = guest.Frames;
            guest.Inject(frame);
            int n = server.Receive(buffer.AsSpan());
            server.Send(buffer.AsSpan(0, n));
            WaitForFrames(guest, before + 1);
        }

        for (int i = 0; i < 2000; i++) RoundTrip();   // warm-up: JIT, flow, learning
        const int count = 10_000;
        long onThread = long.MaxValue, onReplies = long.MaxValue;
        // The reply threads are pool threads, which also run whatever else the test host has to do
        // (reporting other tests' results): the least of three runs is the NAT's own.
        for (int run = 0; run < 3; run++)
        {
            long thread = GC.GetAllocatedBytesForCurrentThread();
            long replies = guest.BetweenReplies;
            for (int i = 0; i < count; i++) RoundTrip();
            onThread = Math.Min(onThread, GC.GetAllocatedBytesForCurrentThread() - thread);
            onReplies = Math.Min(onReplies, guest.BetweenReplies - replies);
        }

        Assert.Equal(1, net.Nat!.UdpFlowCount);
        // The smallest object is 24 bytes: one per datagram would be 240,000 bytes a run.
        Assert.True(onThread < 1024, $"{count} guest datagrams allocated {onThread} bytes on the guest's thread");
        Assert.True(onReplies < 100_000, $"{count} replies allocated {onReplies} bytes on the threads that delivered them");
    }

    private static void WaitForFrames(CountingTransport t, long count)
    {
        var spin = new SpinWait();
        long deadline = Environment.TickCount64 + 30_000;   // a real peer's reply: a generous bound
        while (t.Frames < count)
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException($"the reply did not reach the guest ({t.Frames} of {count})");
            spin.SpinOnce();
        }
    }
}
