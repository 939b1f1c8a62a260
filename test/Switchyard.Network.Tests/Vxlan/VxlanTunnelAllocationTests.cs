using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>Runs alone, so other tests' work does not land on the threads it measures.</summary>
[CollectionDefinition(nameof(VxlanTunnelAllocationTests), DisableParallelization = true)]
public sealed class VxlanTunnelAllocationCollection;

/// <summary>The tunnel allocates nothing per frame: encapsulating and sending (to a learnt VTEP and
/// replicated), and receiving, checking and learning (measured on the receive loop's thread from
/// one frame to the next, a thread's first frame excluded), as UdpTransportAllocationTests does.</summary>
[Collection(nameof(VxlanTunnelAllocationTests))]
public sealed class VxlanTunnelAllocationTests
{
    [ThreadStatic] private static long t_lastAllocated;
    private long _frames, _betweenFrames;

    [Fact]
    public async Task Sending_and_receiving_frames_allocates_nothing()
    {
        using var a = VxlanTunnel.Open(new VxlanSettings(7, new IPEndPoint(IPAddress.Parse("127.0.0.1"), 0), []), 1500, NullLogger.Instance);
        using var b = VxlanTunnel.Open(new VxlanSettings(7, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), [a.Settings.Local]), 1500, NullLogger.Instance);
        using var c = VxlanTunnel.Open(new VxlanSettings(7, new IPEndPoint(IPAddress.Parse("127.0.0.3"), 0), [a.Settings.Local]), 1500, NullLogger.Instance);
        a.SetPeers([b.Settings.Local, c.Settings.Local]);
        long bFrames = 0;
        b.Start((_, in _) => Interlocked.Increment(ref bFrames));
        c.Start((_, in _) => { });
        a.Start((_, in _) =>
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (t_lastAllocated != 0) Interlocked.Add(ref _betweenFrames, now - t_lastAllocated);
            t_lastAllocated = now;
            Interlocked.Increment(ref _frames);
        });
        var fromB = VxlanTestBed.Frame(0x02_00_00_00_00_0A, 0x02_00_00_00_00_0B, 200);
        var toB = VxlanTestBed.Frame(0x02_00_00_00_00_0B, 0x02_00_00_00_00_0A, 200);
        var broadcast = VxlanTestBed.Frame(0xFFFF_FFFF_FFFF, 0x02_00_00_00_00_0A, 200);

        // Warm up: the sockets' async machinery, the learning entry, this thread's buffer.
        for (int i = 0; i < 200; i++) b.TrySend(fromB, VirtioNetHeader.None);
        for (int i = 0; i < 200 && Interlocked.Read(ref _frames) < 200; i++) await Task.Delay(10);
        for (int i = 0; i < 50; i++) { a.TrySend(toB, VirtioNetHeader.None); a.TrySend(broadcast, VirtioNetHeader.None); }
        _ = a.Counters;
        Interlocked.Exchange(ref _betweenFrames, 0);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(a.TrySend(toB, VirtioNetHeader.None));
            Assert.True(a.TrySend(broadcast, VirtioNetHeader.None));
            if (i % 64 == 0) Thread.Sleep(1);
        }
        long sent = GC.GetAllocatedBytesForCurrentThread() - before;

        long target = Interlocked.Read(ref _frames) + 2000;
        var sender = new Thread(() =>
        {
            for (int i = 0; i < 2000; i++)
            {
                b.TrySend(fromB, VirtioNetHeader.None);
                if (i % 64 == 0) Thread.Sleep(1); // let the loop keep up: a dropped datagram is no measurement
            }
        });
        sender.Start();
        sender.Join();
        for (int i = 0; i < 500 && Interlocked.Read(ref _frames) < target; i++) Thread.Sleep(10);

        Assert.Equal(0, sent);
        Assert.Equal(target, Interlocked.Read(ref _frames));
        Assert.InRange(Interlocked.Read(ref _betweenFrames), 0, 1024);
        Assert.Equal(1000, a.Counters.Replicated - 50);
    }
}
