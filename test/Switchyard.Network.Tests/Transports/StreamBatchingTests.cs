using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Transports;

/// <summary>Issue 15: the stream transport writes a frame at once from the sender's span, queues
/// what the VM has no room for and drains it with gathered writes, cuts an offloaded job into
/// frames written in one go, and takes many frames from one read. Frames are never interleaved,
/// lost or reordered, from one sender or from several at once.</summary>
public sealed class StreamBatchingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-gather-").FullName;
    private readonly FakeTimeProvider _clock = new();
    private readonly CapturingLogger _log = new();
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A transport listening at a fresh path and the VM's socket connected to it.</summary>
    private async Task<(StreamTransport Transport, Socket Vm)> Connected(FrameHandler onFrame, int maxFrame = 1514)
    {
        var path = Path.Combine(_dir, "vm.sock");
        var t = StreamTransport.Listen(path, maxFrame, _log, _clock);
        _owned.Add(t);
        t.Start(onFrame);
        var vm = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _owned.Add(vm);
        await vm.ConnectAsync(new UnixDomainSocketEndPoint(path));
        for (int i = 0; i < 500 && t.Status.State != "connected"; i++) await Task.Delay(10);
        Assert.Equal("connected", t.Status.State);
        return (t, vm);
    }

    /// <summary>Reads one length-prefixed frame.</summary>
    private static byte[] ReadFrame(Socket vm)
    {
        var prefix = new byte[4];
        ReadExactly(vm, prefix);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        ReadExactly(vm, frame);
        return frame;
    }

    private static void ReadExactly(Socket s, byte[] into)
    {
        s.ReceiveTimeout = 10_000;
        for (int at = 0; at < into.Length;)
        {
            int n = s.Receive(into, at, into.Length - at, SocketFlags.None);
            Assert.True(n > 0, "the connection ended in the middle of a frame");
            at += n;
        }
    }

    [Fact]
    public async Task Frames_the_vm_does_not_read_queue_up_to_the_backlog_and_then_all_arrive_in_order()
    {
        var (t, vm) = await Connected((_, in _) => { });
        // The VM reads nothing: the socket's buffer fills, then the queue, then frames are dropped.
        int accepted = 0;
        while (accepted < 100_000 && t.TrySend(BatchedDatagramTests.Frame(accepted, 1400), VirtioNetHeader.None)) accepted++;
        Assert.InRange(accepted, StreamConnection.MaxBacklog / 1404, 100_000 - 1);
        for (int i = 0; i < accepted; i++) Assert.Equal(BatchedDatagramTests.Frame(i, 1400), ReadFrame(vm));
        // Drained: frames go straight out again.
        Assert.True(t.TrySend(BatchedDatagramTests.Frame(7, 100), VirtioNetHeader.None));
        Assert.Equal(BatchedDatagramTests.Frame(7, 100), ReadFrame(vm));
    }

    [Fact]
    public async Task Frames_from_several_threads_at_once_are_never_interleaved()
    {
        var (t, vm) = await Connected((_, in _) => { });
        const int Threads = 4, Each = 3000;
        var reader = Task.Run(() =>
        {
            var next = new int[Threads];
            for (int i = 0; i < Threads * Each; i++)
            {
                var f = ReadFrame(vm);
                int index = BinaryPrimitives.ReadInt32BigEndian(f.AsSpan(14));
                int thread = index / Each;
                Assert.Equal(BatchedDatagramTests.Frame(index), f);
                Assert.Equal(thread * Each + next[thread]++, index); // each sender's frames in its order
            }
        });
        var senders = Enumerable.Range(0, Threads).Select(n => Task.Run(() =>
        {
            for (int i = 0; i < Each; i++)
            {
                var f = BatchedDatagramTests.Frame(n * Each + i);
                while (!t.TrySend(f, VirtioNetHeader.None)) Thread.Yield(); // backlog full: the reader catches up
            }
        })).ToArray();
        await Task.WhenAll(senders);
        await reader.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Theory]
    [InlineData(65000, 1460)]
    [InlineData(200000, 1460)] // more than one thread buffer's worth: written in parts, in order
    [InlineData(700, 1460)]
    public async Task An_offloaded_job_reaches_the_vm_as_the_frames_software_offload_makes(int payload, ushort mss)
    {
        var (t, vm) = await Connected((_, in _) => { });
        Assert.True(t.SupportsOffload);
        var (frame, offload) = BatchedDatagramTests.GsoJob(payload, mss);
        var expected = BatchedDatagramTests.Segments(frame, offload);
        var reading = Task.Run(() => expected.Select(_ => ReadFrame(vm)).ToList());
        Assert.True(t.TrySend(frame, offload));
        var got = await reading.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(expected.Count, got.Count);
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i], got[i]);
    }

    [Fact]
    public async Task Many_frames_in_one_write_arrive_whole_and_in_order_across_the_buffers_end()
    {
        var received = new List<byte[]>();
        var (_, vm) = await Connected((f, in _) => { lock (received) received.Add(f.ToArray()); }, maxFrame: 9018);
        // 600 frames of up to 9 KB, in writes that end in the middle of frames: about 2.7 MB, ten
        // times the receive buffer, so frames straddle its end again and again.
        var all = new List<byte[]>();
        var stream = new MemoryStream();
        for (int i = 0; i < 600; i++)
        {
            var f = BatchedDatagramTests.Frame(i, 60 + i * 7919 % 8900);
            all.Add(f);
            var prefix = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(prefix, f.Length);
            stream.Write(prefix);
            stream.Write(f);
        }
        var bytes = stream.ToArray();
        for (int at = 0; at < bytes.Length; at += 100_003) await vm.SendAsync(bytes.AsMemory(at, Math.Min(100_003, bytes.Length - at)), SocketFlags.None);
        for (int i = 0; i < 1000 && Count() < all.Count; i++) await Task.Delay(10);
        lock (received)
        {
            Assert.Equal(all.Count, received.Count);
            for (int i = 0; i < all.Count; i++) Assert.Equal(all[i], received[i]);
        }

        int Count()
        {
            lock (received) return received.Count;
        }
    }
}
