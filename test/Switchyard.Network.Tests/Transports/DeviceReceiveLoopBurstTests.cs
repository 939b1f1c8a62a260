using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Platform;

namespace Switchyard.Network.Tests.Transports;

/// <summary>The receive loop opens a <see cref="ReceiveBurst"/> with the first frame it reads and ends it
/// (running what the frames deferred) when the device's queue is empty, before it sleeps, or after
/// <see cref="ReceiveBurst.Budget"/> frames. A scripted device stands in for the TAP.</summary>
public sealed class DeviceReceiveLoopBurstTests
{
    /// <summary>Hands out queued frame counts as "reads": each read is one 60-byte frame while the current
    /// batch lasts, then 0 (empty); the loop's sleep takes the next batch, or stops the loop after the last.</summary>
    private sealed class ScriptedDevice(int[] batches) : IFrameDevice
    {
        private int _batch, _left = batches[0];
        public readonly List<string> Log = [];
        public DeviceReceiveLoop? Loop;
        public readonly ManualResetEventSlim Done = new();
        public string Name => "scripted";
        public bool VnetHeader => false;
        public int Read(Span<byte> frame)
        {
            if (_left == 0) return 0;
            _left--;
            return 60;
        }
        public bool WaitReadable(int timeoutMs)
        {
            Log.Add("sleep");
            if (++_batch < batches.Length) { _left = batches[_batch]; return true; }
            Done.Set();
            Loop!.Stop();
            return false;
        }
        public void Wake() { }
    }

    private sealed class Work(List<string> log) : IBurstWork
    {
        public void OnBurstEnd() => log.Add("end");
    }

    private static List<string> Run(params int[] batches)
    {
        var device = new ScriptedDevice(batches);
        var work = new Work(device.Log);
        var loop = new DeviceReceiveLoop(device, 128, "burst-test", onDown: () => false, NullLogger.Instance);
        device.Loop = loop;
        bool queued = false;
        loop.Start((ReadOnlySpan<byte> frame, in Switchyard.Packets.VirtioNetHeader _) =>
        {
            device.Log.Add("frame");
            // One piece of deferred work per burst, as a flow queues its ACK once.
            if (!queued) queued = ReceiveBurst.TryDefer(work);
        });
        Assert.True(device.Done.Wait(TimeSpan.FromSeconds(10)), "the loop did not finish its script");
        return device.Log;
    }

    [Fact]
    public void Work_deferred_by_a_burst_runs_once_the_queue_is_empty_before_the_sleep()
    {
        var log = Run(3);
        Assert.Equal(["frame", "frame", "frame", "end", "sleep"], log);
    }

    [Fact]
    public void A_burst_longer_than_the_budget_runs_its_work_at_the_budget()
    {
        var log = Run(ReceiveBurst.Budget + 2);
        int end = log.IndexOf("end");
        Assert.Equal(ReceiveBurst.Budget, end);   // after exactly Budget frames
        Assert.Equal("sleep", log[^1]);
        Assert.Equal(ReceiveBurst.Budget + 2, log.Count(e => e == "frame"));
    }

    [Fact]
    public void Nothing_is_deferred_outside_a_burst()
    {
        Assert.False(ReceiveBurst.IsOpen);
        Assert.False(ReceiveBurst.TryDefer(new Work([])));
    }
}
