using System.Runtime.Versioning;
using Switchyard.Platform;

namespace Switchyard.BenchRelay;

/// <summary>Frames, bytes and calls one direction of the relay moved. Written by that direction's thread only.</summary>
internal sealed class DirectionCounters
{
    public long Frames;
    public long Bytes;

    /// <summary>Batches handed over: frames / batches is how many frames each wake-up carried.</summary>
    public long Batches;

    /// <summary>Frames lost on the way: the TAP refused a write (full queue), or the link dropped them.</summary>
    public long Dropped;
}

/// <summary>
/// The relay: what a VM's virtio-net without offloads does, with a TAP device in a namespace as the guest's NIC.
/// One thread per direction, as a NIC has a transmit and a receive queue:
/// TAP -> link: wait for the TAP, drain everything it holds into a batch (up to its capacity), send the batch in
/// one call of the link's framing, repeat until the TAP is empty, wait again;
/// link -> TAP: receive a batch (everything the socket holds), write each frame to the TAP (tun takes one frame
/// per write(2) without vnet headers).
/// Either direction ending (the peer closed, the TAP went away, a framing error) ends the relay.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class Relay : IDisposable
{
    private readonly TapDevice _tap;
    private readonly IFrameLink _link;
    private readonly int _batchSize;
    private readonly int _maxFrame;
    private readonly ManualResetEventSlim _done = new();
    private volatile bool _stopping;
    private string? _reason;
    private Thread? _toLink;
    private Thread? _toTap;

    public Relay(TapDevice tap, IFrameLink link, int batchSize, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _tap = tap;
        _link = link;
        _batchSize = batchSize;
        _maxFrame = mtu + 14;
    }

    public DirectionCounters ToLink { get; } = new();

    /// <summary>The link's own losses each way (see <see cref="IFrameLink.SendDropped"/>).</summary>
    public long LinkSendDropped => _link.SendDropped;

    public long LinkReceiveDropped => _link.ReceiveDropped;

    public DirectionCounters ToTap { get; } = new();

    /// <summary>Why the relay ended (null while it runs).</summary>
    public string? Reason => Volatile.Read(ref _reason);

    /// <summary>True when it ended on an error (a framing error, a failed call), not a peer leaving or Stop.</summary>
    public bool Failed { get; private set; }

    public void Start()
    {
        _toLink = new Thread(() => Guard(TapToLink)) { IsBackground = true, Name = "relay tap->link" };
        _toTap = new Thread(() => Guard(LinkToTap)) { IsBackground = true, Name = "relay link->tap" };
        _toLink.Start();
        _toTap.Start();
    }

    /// <summary>Blocks until the relay ends or <paramref name="timeout"/> passes; true when it ended.</summary>
    public bool Wait(TimeSpan timeout) => _done.Wait(timeout);

    /// <summary>Ends the relay (both threads return); <paramref name="reason"/> is kept unless another came first.</summary>
    public void Stop(string reason) => Finish(reason, failed: false);

    private void Guard(Action loop)
    {
        try
        {
            loop();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            Finish(e.Message, failed: !_stopping);
        }
    }

    private void Finish(string reason, bool failed)
    {
        if (Interlocked.CompareExchange(ref _reason, reason, null) is null)
        {
            Failed = failed;
        }
        _stopping = true;
        _tap.Wake();
        _link.Close();
        _done.Set();
    }

    private void TapToLink()
    {
        var batch = new FrameBatch(_batchSize, _maxFrame);
        while (!_stopping)
        {
            if (!_tap.WaitReadable(-1))
            {
                continue; // woken by Finish
            }
            // Drain: one wake-up of the TAP becomes as few sends as the queue allows.
            while (!_stopping)
            {
                var count = 0;
                while (count < _batchSize)
                {
                    var n = _tap.Read(batch.Slot(count));
                    if (n == 0)
                    {
                        break;
                    }
                    if (n < 0)
                    {
                        Finish($"the TAP device {_tap.Name} is gone", failed: false);
                        return;
                    }
                    batch.Offsets[count] = batch.SlotOffset(count);
                    batch.Lengths[count] = n;
                    ToLink.Bytes += n;
                    count++;
                }
                if (count == 0)
                {
                    break;
                }
                batch.Count = count;
                if (!_link.Send(batch))
                {
                    Finish($"{_link.Description}: the peer is gone", failed: false);
                    return;
                }
                ToLink.Frames += count;
                ToLink.Batches++;
                if (count < _batchSize)
                {
                    break; // the TAP is empty
                }
            }
        }
    }

    private void LinkToTap()
    {
        var batch = new FrameBatch(_batchSize, _maxFrame);
        while (!_stopping)
        {
            var count = _link.Receive(batch);
            if (count == 0)
            {
                Finish($"{_link.Description}: the peer closed the link", failed: false);
                return;
            }
            for (var i = 0; i < count; i++)
            {
                var frame = batch.Frame(i);
                if (WriteToTap(frame))
                {
                    ToTap.Frames++;
                    ToTap.Bytes += frame.Length;
                }
                else
                {
                    ToTap.Dropped++;
                }
            }
            ToTap.Batches++;
        }
    }

    /// <summary>
    /// A VM's receive ring does not drop what its backend hands it: the backend stops reading its socket until the
    /// guest has taken frames. tun says "not now" instead (a full queue: EAGAIN/ENOBUFS), so the relay retries,
    /// yielding the CPU to the guest side, for up to <see cref="TapRetryLimit"/> before it counts a drop (a guest
    /// that stopped reading for that long has stalled; the link's sender meanwhile waits on this thread, which is
    /// the backpressure a VM gives).
    /// </summary>
    private bool WriteToTap(ReadOnlySpan<byte> frame)
    {
        if (_tap.Write(frame))
        {
            return true;
        }
        var start = Environment.TickCount64;
        for (var spin = 0; !_stopping; spin++)
        {
            if (spin < 16)
            {
                Thread.Yield();
            }
            else
            {
                Thread.Sleep(1);
            }
            if (_tap.Write(frame))
            {
                return true;
            }
            if (Environment.TickCount64 - start > TapRetryLimit.TotalMilliseconds)
            {
                return false;
            }
        }
        return false;
    }

    private static readonly TimeSpan TapRetryLimit = TimeSpan.FromMilliseconds(100);

    public void Dispose()
    {
        Stop("disposed");
        // Both threads return promptly once stopped (the TAP's poll is woken, the socket shut down).
        _toLink?.Join(TimeSpan.FromSeconds(5));
        _toTap?.Join(TimeSpan.FromSeconds(5));
        _link.Dispose();
        _tap.Dispose();
        _done.Dispose();
    }
}
