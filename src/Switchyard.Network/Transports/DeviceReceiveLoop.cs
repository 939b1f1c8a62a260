using Microsoft.Extensions.Logging;
using Switchyard.Network.Switching;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>The receive thread of a kernel frame device (<see cref="TapTransport"/>'s TAP,
/// <see cref="PacketUplinkTransport"/>'s AF_PACKET socket). Neither fd is a socket .NET can drive,
/// so one dedicated thread reads it nonblocking until the queue is empty, and only then sleeps in
/// poll(): a busy port pays one read() per frame and no poll(). One buffer for the port's
/// lifetime: each frame is handled in place before the next read, so nothing is allocated per frame.
/// The frames read back to back form a <see cref="ReceiveBurst"/>: what they deferred (ACKs) runs
/// when the queue is found empty, or every <see cref="ReceiveBurst.Budget"/> frames.</summary>
internal sealed class DeviceReceiveLoop
{
    private readonly IFrameDevice _device;
    private readonly int _bufferLength;
    private readonly string _threadName;
    private readonly Func<bool> _onDown;
    private readonly ILogger _logger;
    private Thread? _thread;
    private volatile bool _stopping;

    /// <param name="device">The device; its <see cref="IFrameDevice.Wake"/> ends the wait on <see cref="Stop"/>.</param>
    /// <param name="bufferLength">The longest read, virtio_net_hdr included: a shorter buffer makes the kernel truncate.</param>
    /// <param name="threadName">The receive thread's name.</param>
    /// <param name="onDown">Called when a read says the device went down or away (once, until a frame arrives
    /// again): true keeps waiting for it to come back, false ends the loop.</param>
    /// <param name="logger">For frames the handler failed on and for a failed receive.</param>
    public DeviceReceiveLoop(IFrameDevice device, int bufferLength, string threadName, Func<bool> onDown, ILogger logger)
    {
        _device = device;
        _bufferLength = bufferLength;
        _threadName = threadName;
        _onDown = onDown;
        _logger = logger;
    }

    /// <summary>True from <see cref="Stop"/> on: senders then drop rather than write to a port going away.</summary>
    public bool Stopping => _stopping;

    /// <summary>Starts the thread; <paramref name="onFrame"/> runs on it, one frame at a time.</summary>
    public void Start(FrameHandler onFrame)
    {
        _thread = new Thread(() => Run(onFrame)) { IsBackground = true, Name = _threadName };
        _thread.Start();
    }

    /// <summary>Ends the loop and waits (up to 2 s, unless called on the loop's own thread) for the thread.</summary>
    public void Stop()
    {
        _stopping = true;
        _device.Wake();
        if (_thread is { } t && t != Thread.CurrentThread) t.Join(TimeSpan.FromSeconds(2));
    }

    private void Run(FrameHandler onFrame)
    {
        const int header = IFrameDevice.VnetHeaderLength;
        bool vnet = _device.VnetHeader;
        var buffer = new byte[_bufferLength];
        bool down = false;
        int burst = 0;   // frames read since the queue was last found empty (ReceiveBurst)
        try
        {
            while (!_stopping)
            {
                int n = _device.Read(buffer);
                if (n > 0)
                {
                    down = false;
                    if (burst++ == 0) ReceiveBurst.Begin();
                    // A bug in handling one frame must not take the whole daemon down with this thread.
                    try
                    {
                        if (!vnet) onFrame(buffer.AsSpan(0, n), VirtioNetHeader.None);
                        else if (n > header)
                            onFrame(buffer.AsSpan(header, n - header), VirtioNetHeader.Read(buffer));
                    }
                    catch (Exception e) when (e is not PlatformException) { TransportLog.FrameFailed(_logger, _device.Name, e); }
                    if (burst == ReceiveBurst.Budget) { EndBurst(); burst = 0; }
                    continue;
                }
                // The queue is empty (or the device went away): what the frames read left for the end runs now, before the sleep.
                if (burst > 0) { EndBurst(); burst = 0; }
                if (n < 0 && !down)
                {
                    down = true;
                    if (!_onDown()) return;
                }
                _device.WaitReadable(-1);
            }
        }
        catch (PlatformException e) when (!_stopping)
        {
            TransportLog.ReceiveFailed(_logger, _device.Name, e);
        }
        finally
        {
            if (burst > 0) EndBurst();
        }
    }

    /// <summary>Runs the work the burst's frames deferred (<see cref="ReceiveBurst"/>): ACKs for the
    /// TCP data they carried.</summary>
    private void EndBurst()
    {
        try { ReceiveBurst.End(); }
        catch (Exception e) when (e is not PlatformException) { TransportLog.FrameFailed(_logger, _device.Name, e); }
    }
}
