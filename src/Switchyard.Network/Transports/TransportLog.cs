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

    [LoggerMessage(EventId = LogEvents.TransportLogSuppressed, Level = LogLevel.Warning,
        Message = "VM on {Where}: {Count} more log lines like the ones above were suppressed in the last {Seconds} s (its transport counters count every event)")]
    public static partial void Suppressed(ILogger logger, string where, long count, double seconds);

    [LoggerMessage(EventId = LogEvents.DgramPeerIgnored, Level = LogLevel.Warning,
        Message = "VM on {Where}: a datagram from {Sender} was dropped; the endpoint's peer {Peer} is still bound")]
    public static partial void PeerIgnored(ILogger logger, string where, string sender, string peer);

    [LoggerMessage(EventId = LogEvents.DgramPeerFollowed, Level = LogLevel.Information,
        Message = "VM on {Where} is now at {Peer} (its previous socket {Previous} went away)")]
    public static partial void PeerFollowed(ILogger logger, string where, string peer, string previous);

    [LoggerMessage(EventId = LogEvents.UdpPeerLearnt, Level = LogLevel.Information, Message = "VM on {Where} is at {Peer} (learnt from its first datagram)")]
    public static partial void UdpPeerLearnt(ILogger logger, string where, string peer);

    [LoggerMessage(EventId = LogEvents.UdpPeerIgnored, Level = LogLevel.Warning,
        Message = "VM on {Where}: a datagram from {Sender} was dropped; only its peer {Peer} may send frames")]
    public static partial void UdpPeerIgnored(ILogger logger, string where, string sender, string peer);

    [LoggerMessage(EventId = LogEvents.VfkitHandshake, Level = LogLevel.Information, Message = "VM on {Where}: vfkit said hello (VFKT) from {Peer}")]
    public static partial void VfkitHandshake(ILogger logger, string where, string peer);

    /// <summary>A per-endpoint limit whose summary goes to this log.</summary>
    public static Telemetry.LogRateLimit Limit(ILogger logger, string where, TimeProvider time) =>
        new(time, (count, window) => Suppressed(logger, where, count, window.TotalSeconds));
}
