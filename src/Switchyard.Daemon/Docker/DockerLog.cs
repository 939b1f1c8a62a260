using Microsoft.Extensions.Logging;
using Switchyard.Network;

namespace Switchyard.Daemon.Docker;

internal static partial class DockerLog
{
    public const string Category = "Switchyard.Daemon.Docker";

    [LoggerMessage(EventId = LogEvents.DockerPluginListening, Level = LogLevel.Information, Message = "Docker network driver '{Driver}' listening on {Socket} (dockerd asked on {DockerHost})")]
    public static partial void Listening(ILogger logger, string driver, string socket, string dockerHost);
    [LoggerMessage(EventId = LogEvents.DockerNetworkRequested, Level = LogLevel.Information, Message = "Docker network {NetworkId}: {Subnet}, mode {Mode}; made once dockerd names it")]
    public static partial void NetworkRequested(ILogger logger, string networkId, string subnet, string mode);
    [LoggerMessage(EventId = LogEvents.DockerNetworkMade, Level = LogLevel.Information, Message = "Docker network {NetworkId} ({DockerName}) is Switchyard network {Network} ({How})")]
    public static partial void NetworkMade(ILogger logger, string networkId, string dockerName, string network, string how);
    [LoggerMessage(EventId = LogEvents.DockerNetworkNotMade, Level = LogLevel.Warning, Message = "Docker network {NetworkId} cannot be made yet: {Reason}")]
    public static partial void NetworkNotMade(ILogger logger, string networkId, string reason);
    [LoggerMessage(EventId = LogEvents.DockerNetworkDeleted, Level = LogLevel.Information, Message = "Docker network {NetworkId} removed (Switchyard network {Network}, adopted {Adopted}: an adopted network stays)")]
    public static partial void NetworkDeleted(ILogger logger, string networkId, string network, bool adopted);
    [LoggerMessage(EventId = LogEvents.DockerEngineUnavailable, Level = LogLevel.Warning, Message = "Docker network {NetworkId}: dockerd cannot tell its name ({Reason}); it is named docker-{NetworkId}")]
    public static partial void EngineUnavailable(ILogger logger, string networkId, string reason);
    [LoggerMessage(EventId = LogEvents.DockerEndpointCreated, Level = LogLevel.Information, Message = "Docker endpoint {EndpointId} is {Network}/{Endpoint} at {Address}")]
    public static partial void EndpointCreated(ILogger logger, string endpointId, string network, string endpoint, string address);
    [LoggerMessage(EventId = LogEvents.DockerEndpointDeleted, Level = LogLevel.Information, Message = "Docker endpoint {EndpointId} ({Endpoint}) removed")]
    public static partial void EndpointDeleted(ILogger logger, string endpointId, string endpoint);
    [LoggerMessage(EventId = LogEvents.DockerCallFailed, Level = LogLevel.Warning, Message = "Docker {Call} refused: {Reason}")]
    public static partial void CallFailed(ILogger logger, string call, string reason);
    [LoggerMessage(EventId = LogEvents.DockerEndpointReattached, Level = LogLevel.Information, Message = "Docker endpoint {Endpoint} on {Network} after the restart: {Outcome}")]
    public static partial void Reattach(ILogger logger, string network, string endpoint, string outcome);
}
