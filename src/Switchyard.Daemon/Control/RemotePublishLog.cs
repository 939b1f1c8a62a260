using Microsoft.Extensions.Logging;
using Switchyard.Network;

namespace Switchyard.Daemon.Control;

/// <summary>Log lines of host ports published to remote guests (events 425-427).</summary>
internal static partial class RemotePublishLog
{
    [LoggerMessage(EventId = LogEvents.RemotePortPublished, Level = LogLevel.Information, Message = "Network {Network} published {Spec} to remote guest {Mac} ({Guest})")]
    public static partial void Published(ILogger logger, string network, string spec, string mac, string guest);
    [LoggerMessage(EventId = LogEvents.RemotePortUnpublished, Level = LogLevel.Information, Message = "Network {Network} unpublished {Spec} (remote guest {Mac})")]
    public static partial void Unpublished(ILogger logger, string network, string spec, string mac);
    [LoggerMessage(EventId = LogEvents.RemotePortRestoreFailed, Level = LogLevel.Warning, Message = "Published port {Spec} of network {Network} (remote guest {Mac}) could not be restored: {Reason}")]
    public static partial void RestoreFailed(ILogger logger, string network, string spec, string mac, string reason);
}
