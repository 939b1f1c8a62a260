using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>A Linux TAP device, in the daemon's namespace or a guest's. A TAP fd is not a socket,
/// so <see cref="System.Net.Sockets.Socket"/> cannot drive it: one dedicated thread reads it
/// nonblocking until the queue is empty, and only then sleeps in poll(), so a busy port pays
/// one read() per frame and no poll().</summary>
[SupportedOSPlatform("linux")]
public sealed class TapTransport : IFrameTransport
{
    private readonly TapDevice _device;
    private readonly int _bufferLength;
    private readonly ILogger _logger;
    private Thread? _thread;
    private volatile bool _stopping;

    public TapTransport(TapDevice device, int maxFrameLength, ILogger logger)
    {
        _device = device;
        _bufferLength = maxFrameLength;
        _logger = logger;
    }

    public string Kind => "tap";
    public bool SupportsOffload => _device.VnetHeader;
    public TapDevice Device => _device;

    public void Start(FrameHandler onFrame)
    {
        _thread = new Thread(() => ReceiveLoop(onFrame)) { IsBackground = true, Name = $"tap {_device.Name}" };
        _thread.Start();
    }

    private void ReceiveLoop(FrameHandler onFrame)
    {
        // One buffer for the port's lifetime: the frame is handled in place before the next read.
        bool vnet = _device.VnetHeader;
        // With offloads the guest hands over TCP jobs of up to 64 KiB whatever the MTU; a shorter
        // buffer would make read() truncate them.
        var buffer = new byte[vnet ? TapDevice.VnetHeaderLength + Switching.EthernetSwitch.MaxGsoFrameLength : _bufferLength];
        try
        {
            while (!_stopping)
            {
                int n = _device.Read(buffer);
                if (n > 0)
                {
                    // A bug in handling one frame must not take the whole daemon down with this thread.
                    try
                    {
                        if (!vnet) onFrame(buffer.AsSpan(0, n), VirtioNetHeader.None);
                        else if (n > TapDevice.VnetHeaderLength)
                            onFrame(buffer.AsSpan(TapDevice.VnetHeaderLength, n - TapDevice.VnetHeaderLength), VirtioNetHeader.Read(buffer));
                    }
                    catch (Exception e) when (e is not PlatformException) { TransportLog.FrameFailed(_logger, _device.Name, e); }
                    continue;
                }
                if (n < 0) { TransportLog.DeviceGone(_logger, _device.Name); return; }
                _device.WaitReadable(-1);
            }
        }
        catch (PlatformException e) when (!_stopping)
        {
            TransportLog.ReceiveFailed(_logger, _device.Name, e);
        }
    }

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (_stopping) return false;
        try
        {
            if (!_device.VnetHeader) return _device.Write(frame);
            Span<byte> header = stackalloc byte[TapDevice.VnetHeaderLength];
            offload.Write(header);
            return _device.Write(header, frame);
        }
        catch (ObjectDisposedException) { return false; } // detached while another port was sending to it
    }

    /// <summary>Stops the receive thread. The device itself stays (it may be persistent) until
    /// <see cref="Dispose"/>.</summary>
    public void Stop()
    {
        _stopping = true;
        _device.Wake();
        if (_thread is { } t && t != Thread.CurrentThread) t.Join(TimeSpan.FromSeconds(2));
    }

    public void Dispose()
    {
        Stop();
        _device.Dispose();
    }
}

internal static partial class TransportLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "TAP device {Device} went away; its endpoint stops receiving")]
    public static partial void DeviceGone(ILogger logger, string device);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "Receiving from {Device} failed")]
    public static partial void ReceiveFailed(ILogger logger, string device, Exception error);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "VM connected on {Where}")]
    public static partial void Connected(ILogger logger, string where);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "VM on {Where} disconnected")]
    public static partial void Disconnected(ILogger logger, string where);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "VM on {Where} dropped: {Error}")]
    public static partial void ProtocolError(ILogger logger, string where, string error);

    [LoggerMessage(EventId = 106, Level = LogLevel.Information, Message = "Connection on {Where} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string where, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Handling a frame from {Device} failed; the frame is dropped")]
    public static partial void FrameFailed(ILogger logger, string device, Exception error);
}
