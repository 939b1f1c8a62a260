using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Transports;

/// <summary>Runs alone, so other tests' work does not land on the threads it measures.</summary>
[CollectionDefinition(nameof(UdpTransportAllocationTests), DisableParallelization = true)]
public sealed class UdpTransportAllocationCollection;

/// <summary>The UDP transport allocates nothing per frame: sends (measured on the sending thread)
/// and receives (measured on whichever thread runs the receive loop, from one frame to the next
/// on that thread, a thread's first frame excluded).</summary>
[Collection(nameof(UdpTransportAllocationTests))]
public sealed class UdpTransportAllocationTests
{
    [ThreadStatic] private static long t_lastAllocated;
    private long _frames, _betweenFrames;

    [Fact]
    public async Task Receiving_and_sending_frames_allocates_nothing()
    {
        using var vm = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        vm.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        vm.ReceiveTimeout = 5_000;
        using var t = UdpTransport.Listen(new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)vm.LocalEndPoint!, 1514, NullLogger.Instance);
        t.Start((_, in _) =>
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (t_lastAllocated != 0) Interlocked.Add(ref _betweenFrames, now - t_lastAllocated);
            t_lastAllocated = now;
            Interlocked.Increment(ref _frames);
        });
        var frame = new byte[100];
        var buffer = new byte[2048];

        // Warm up: the first sends and receives create the socket's async machinery.
        for (int i = 0; i < 200; i++) vm.SendTo(frame, t.Local);
        for (int i = 0; i < 200 && Interlocked.Read(ref _frames) < 200; i++) await Task.Delay(10);
        for (int i = 0; i < 50; i++) { Assert.True(t.TrySend(frame, VirtioNetHeader.None)); vm.Receive(buffer); }
        Interlocked.Exchange(ref _betweenFrames, 0);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) { Assert.True(t.TrySend(frame, VirtioNetHeader.None)); vm.Receive(buffer); }
        long sent = GC.GetAllocatedBytesForCurrentThread() - before;

        // The datagrams come from a thread of their own: a sender on the thread pool could run
        // on the receive loop's thread between two frames and have its allocations counted.
        long target = Interlocked.Read(ref _frames) + 2000;
        var sender = new Thread(() =>
        {
            var to = t.Local.Serialize();
            for (int i = 0; i < 2000; i++)
            {
                vm.SendTo(frame, SocketFlags.None, to);
                if (i % 64 == 0) Thread.Sleep(1); // let the loop keep up: a dropped datagram is no measurement
            }
        });
        sender.Start();
        sender.Join();
        for (int i = 0; i < 500 && Interlocked.Read(ref _frames) < target; i++) Thread.Sleep(10);

        Assert.Equal(0, sent);
        Assert.Equal(target, Interlocked.Read(ref _frames));
        // A few bytes over 2,000 frames (a thread pool thread's first work item) is no per-frame cost.
        Assert.InRange(Interlocked.Read(ref _betweenFrames), 0, 1024);
    }
}
