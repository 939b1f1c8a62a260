using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>A bridged network's uplink on Linux: an AF_PACKET socket on the host interface
/// (<see cref="PacketSocket"/>), read by a <see cref="DeviceReceiveLoop"/> like a TAP.
/// With PACKET_VNET_HDR, frames carry a virtio_net_hdr both ways, so TCP jobs from TAP guests go to
/// the kernel whole (it segments them, or the NIC does) and GRO'd frames from the LAN come in whole.
/// Why AF_PACKET and not macvtap: docs/bridged.md.</summary>
[SupportedOSPlatform("linux")]
public sealed class PacketUplinkTransport : IUplinkTransport
{
    private readonly PacketSocket _socket;
    private readonly DeviceReceiveLoop _loop;

    private PacketUplinkTransport(PacketSocket socket, ILogger logger)
    {
        _socket = socket;
        _loop = new DeviceReceiveLoop(socket, PacketSocket.VnetHeaderLength + Switching.EthernetSwitch.MaxGsoFrameLength,
            $"uplink {socket.InterfaceName}", onDown: () =>
            {
                // The interface went down (or away): the socket stays and takes frames again when it is back.
                UplinkLog.InterfaceDown(logger, socket.InterfaceName);
                return true;
            }, logger);
    }

    /// <summary>Opens the uplink; throws <see cref="PlatformException"/> when the interface is gone
    /// or the daemon lacks CAP_NET_RAW.</summary>
    public static PacketUplinkTransport Open(string interfaceName, ILogger logger) =>
        new(PacketSocket.Open(interfaceName, vnetHeader: true), logger);

    public string Kind => "packet";
    public string Interface => _socket.InterfaceName;
    public bool SupportsOffload => _socket.VnetHeader;

    public void SetGuests(IReadOnlyCollection<MacAddress> macs)
    {
        var values = new ulong[macs.Count];
        int i = 0;
        foreach (var mac in macs) if (i < values.Length) values[i++] = mac.Value;
        _socket.SetGuests(values.AsSpan(0, i));
    }

    public void Start(FrameHandler onFrame) => _loop.Start(onFrame);

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (_loop.Stopping) return false;
        try
        {
            Span<byte> header = stackalloc byte[PacketSocket.VnetHeaderLength];
            offload.Write(header);
            return _socket.Write(header, frame);
        }
        catch (ObjectDisposedException) { return false; }
    }

    public void Dispose()
    {
        _loop.Stop();
        _socket.Dispose();
    }
}

internal static partial class UplinkLog
{
    [LoggerMessage(EventId = LogEvents.UplinkDown, Level = LogLevel.Warning, Message = "Host interface {Interface} is down or gone; the bridged network is cut off from its LAN until it is back")]
    public static partial void InterfaceDown(ILogger logger, string @interface);
}
