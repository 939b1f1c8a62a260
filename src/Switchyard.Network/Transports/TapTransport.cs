using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>A Linux TAP device, in the daemon's namespace or a guest's, read by a
/// <see cref="DeviceReceiveLoop"/>.</summary>
[SupportedOSPlatform("linux")]
public sealed class TapTransport : IFrameTransport
{
    private readonly TapDevice _device;
    private readonly DeviceReceiveLoop _loop;

    public TapTransport(TapDevice device, int maxFrameLength, ILogger logger)
    {
        _device = device;
        // With offloads the guest hands over TCP jobs of up to 64 KiB whatever the MTU; a shorter
        // buffer would make read() truncate them.
        int bufferLength = device.VnetHeader ? TapDevice.VnetHeaderLength + Switching.EthernetSwitch.MaxGsoFrameLength : maxFrameLength;
        _loop = new DeviceReceiveLoop(device, bufferLength, $"tap {device.Name}", onDown: () =>
        {
            // Deleted (`ip link del`, or its namespace went away): it will not come back to this fd.
            TransportLog.DeviceGone(logger, device.Name);
            return false;
        }, logger);
    }

    public string Kind => "tap";
    public bool SupportsOffload => _device.VnetHeader;
    public TapDevice Device => _device;

    public void Start(FrameHandler onFrame) => _loop.Start(onFrame);

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (_loop.Stopping) return false;
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
    public void Stop() => _loop.Stop();

    public void Dispose()
    {
        Stop();
        _device.Dispose();
    }
}
