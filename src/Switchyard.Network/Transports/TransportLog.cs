using Microsoft.Extensions.Logging;

namespace Switchyard.Network.Transports;

/// <summary>The transports' log messages.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = LogEvents.TapDeviceGone, Level = LogLevel.Warning, Message = "TAP device {Device} went away; its endpoint stops receiving")]
    public static partial void DeviceGone(ILogger logger, string device);

    [LoggerMessage(EventId = LogEvents.ReceiveFailed, Level = LogLevel.Error, Message = "Receiving from {Device} failed")]
    public static partial void ReceiveFailed(ILogger logger, string device, Exception error);

    [LoggerMessage(EventId = LogEvents.VmConnected, Level = LogLevel.Information, Message = "VM connected on {Where}")]
    public static partial void Connected(ILogger logger, string where);

    [LoggerMessage(EventId = LogEvents.VmDisconnected, Level = LogLevel.Information, Message = "VM on {Where} disconnected")]
    public static partial void Disconnected(ILogger logger, string where);

    [LoggerMessage(EventId = LogEvents.VmDropped, Level = LogLevel.Warning, Message = "VM on {Where} dropped: {Error}")]
    public static partial void ProtocolError(ILogger logger, string where, string error);

    [LoggerMessage(EventId = LogEvents.ConnectionLost, Level = LogLevel.Information, Message = "Connection on {Where} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string where, string reason);

    [LoggerMessage(EventId = LogEvents.FrameHandlingFailed, Level = LogLevel.Error, Message = "Handling a frame from {Device} failed; the frame is dropped")]
    public static partial void FrameFailed(ILogger logger, string device, Exception error);
}
