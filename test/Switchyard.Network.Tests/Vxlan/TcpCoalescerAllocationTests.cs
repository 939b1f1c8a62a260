using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Network.Transports;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Vxlan.TcpSegments;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>Runs alone, so other tests' work does not land on the threads it measures.</summary>
[CollectionDefinition(nameof(TcpCoalescerAllocationTests), DisableParallelization = true)]
public sealed class TcpCoalescerAllocationCollection;

/// <summary>The receive side's coalescing allocates nothing per frame: the coalescer itself, and
/// a tunnel's whole receive path with it (measured on the receive thread from one delivery to the
/// next, as VxlanTunnelAllocationTests does).</summary>
[Collection(nameof(TcpCoalescerAllocationTests))]
public sealed class TcpCoalescerAllocationTests
{
    [ThreadStatic] private static long t_lastAllocated;
    private long _deliveries, _superframes, _betweenDeliveries;
    private static long s_sink;

    [Fact]
    public void Coalescing_ten_thousand_frames_allocates_nothing()
    {
        // Runs of IPv4 and IPv6 segments with a short last one, and pure ACKs of the other direction between them.
        var frames = new List<byte[]>();
        uint seq = 1;
        for (int run = 0; frames.Count < 10_000; run++)
        {
            bool v6 = run % 2 == 1;
            for (int i = 0; i < 20; i++)
            {
                int length = i == 19 ? 700 : 1398;
                frames.Add(Build(new Spec(v6, seq, length) { Id = (ushort)i, Options = Timestamps((uint)run, 1) }));
                seq += (uint)length;
            }
            frames.Add(Build(new Spec(v6, 9, 0) { SourcePort = 5201 }));
        }
        var coalescer = new TcpCoalescer();
        FrameHandler deliver = static (frame, in offload) => s_sink += frame.Length + offload.GsoSize;
        foreach (var f in frames) coalescer.Add(f, deliver); // warm-up: JIT, tiering
        coalescer.Flush(deliver);

        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var f in frames) coalescer.Add(f, deliver);
        coalescer.Flush(deliver);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Receiving_segmentation_jobs_through_a_tunnel_allocates_nothing()
    {
        if (!OperatingSystem.IsLinux()) return; // UDP GRO, and so the coalescing receive loop, is Linux's
        using var a = VxlanTunnel.Open(new VxlanSettings(7, new IPEndPoint(IPAddress.Parse("127.0.0.1"), 0), []), 1450, NullLogger.Instance);
        using var b = VxlanTunnel.Open(new VxlanSettings(7, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), [a.Settings.Local]), 1450, NullLogger.Instance);
        a.SetPeers([b.Settings.Local]);
        a.Start((_, in _) => { });
        b.Start((_, in offload) =>
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (t_lastAllocated != 0) Interlocked.Add(ref _betweenDeliveries, now - t_lastAllocated);
            t_lastAllocated = now;
            Interlocked.Increment(ref _deliveries);
            if (offload.IsGso) Interlocked.Increment(ref _superframes);
        });
        var (job, offload) = VxlanSegmentationTests.GsoJob(MacB, 60_000, 1348);

        for (int i = 0; i < 20; i++) Assert.True(a.TrySend(job, offload)); // warm-up: the receive thread's first frames
        for (int i = 0; i < 300 && Interlocked.Read(ref _deliveries) == 0; i++) Thread.Sleep(10);
        Thread.Sleep(200);
        Interlocked.Exchange(ref _betweenDeliveries, 0);
        Interlocked.Exchange(ref _superframes, 0);

        for (int i = 0; i < 200; i++)
        {
            Assert.True(a.TrySend(job, offload));
            if (i % 8 == 0) Thread.Sleep(1); // let the receiver keep up: a dropped datagram is no measurement
        }
        for (int i = 0; i < 500 && Interlocked.Read(ref _superframes) < 200; i++) Thread.Sleep(10);
        Assert.True(Interlocked.Read(ref _superframes) >= 200, $"{_superframes} superframes for 200 jobs of 45 segments");
        Assert.InRange(Interlocked.Read(ref _betweenDeliveries), 0, 1024);
    }
}
