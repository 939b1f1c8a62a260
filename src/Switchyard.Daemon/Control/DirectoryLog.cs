using Switchyard.Network;
using Microsoft.Extensions.Logging;

namespace Switchyard.Daemon.Control;

internal static partial class DirectoryLog
{
    /// <summary>The category the control plane has always logged under (before it was split), kept for log filters.</summary>
    public const string Category = "Switchyard.Daemon.Networks.NetworkDirectory";

    [LoggerMessage(EventId = LogEvents.NetworkCreated, Level = LogLevel.Information, Message = "Network {Network} created: {Subnet}, mode {Mode}")]
    public static partial void NetworkCreated(ILogger logger, string network, string subnet, string mode);
    [LoggerMessage(EventId = LogEvents.NetworkUpdated, Level = LogLevel.Information, Message = "Network {Network} updated: mode {Mode}, host loopback {HostLoopback}")]
    public static partial void NetworkUpdated(ILogger logger, string network, string mode, bool hostLoopback);
    [LoggerMessage(EventId = LogEvents.NetworkMaxFlowsChanged, Level = LogLevel.Information, Message = "Network {Network} NAT flow cap: {MaxFlows}")]
    public static partial void MaxFlowsChanged(ILogger logger, string network, int maxFlows);
    [LoggerMessage(EventId = LogEvents.EgressPolicyUpdated, Level = LogLevel.Information, Message = "Network {Network} egress policy: {Policy}")]
    public static partial void EgressUpdated(ILogger logger, string network, string policy);
    [LoggerMessage(EventId = LogEvents.VxlanPeersUpdated, Level = LogLevel.Information, Message = "Network {Network} VXLAN peers: {Peers}")]
    public static partial void VxlanPeersChanged(ILogger logger, string network, string peers);
    [LoggerMessage(EventId = LogEvents.VxlanRestoreFailed, Level = LogLevel.Error, Message = "Network {Network} is restored without its VXLAN tunnel on {Local}; its guests reach only each other until the daemon restarts with the address free: {Error}")]
    public static partial void VxlanRestoreFailed(ILogger logger, string network, string local, string error);
    [LoggerMessage(EventId = LogEvents.NetworkRemoved, Level = LogLevel.Information, Message = "Network {Network} removed")]
    public static partial void NetworkRemoved(ILogger logger, string network);
    [LoggerMessage(EventId = LogEvents.EndpointAttached, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} attached: {Ip} {Mac} over {Transport}")]
    public static partial void EndpointAttached(ILogger logger, string network, string endpoint, string ip, string mac, string transport);
    [LoggerMessage(EventId = LogEvents.EndpointDetached, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} detached")]
    public static partial void EndpointDetached(ILogger logger, string network, string endpoint);
    [LoggerMessage(EventId = LogEvents.EndpointRestored, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} restored at {Ip}")]
    public static partial void EndpointRestored(ILogger logger, string network, string endpoint, string ip);
    [LoggerMessage(EventId = LogEvents.EndpointRestoreFailed, Level = LogLevel.Warning, Message = "Endpoint {Network}/{Endpoint} could not be restored: {Reason}")]
    public static partial void EndpointRestoreFailed(ILogger logger, string network, string endpoint, string reason);
    [LoggerMessage(EventId = LogEvents.LeaseChanged, Level = LogLevel.Information, Message = "Lease {Network}/{Endpoint} {Ip}: {State}")]
    public static partial void LeaseChanged(ILogger logger, string network, string endpoint, string ip, string state);

    [LoggerMessage(EventId = LogEvents.DhcpRangeChanged, Level = LogLevel.Information, Message = "Network {Network}: DHCP range for guests behind its tunnel is now {Range}")]
    public static partial void DhcpRangeChanged(ILogger logger, string network, string range);

    [LoggerMessage(EventId = LogEvents.RemoteLeaseChanged, Level = LogLevel.Information, Message = "Lease {Network}/{Mac} (behind the tunnel, name {HostName}) {Ip}: {State}")]
    public static partial void RemoteLeaseChanged(ILogger logger, string network, string mac, string ip, string hostName, string state);
    [LoggerMessage(EventId = LogEvents.MacLearned, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} uses the VM's own MAC {Mac}")]
    public static partial void MacLearned(ILogger logger, string network, string endpoint, string mac);
    [LoggerMessage(EventId = LogEvents.MacClash, Level = LogLevel.Warning, Message = "Endpoint {Network}/{Endpoint} sends from {Mac}, which attached endpoint {Other} already uses; DHCP answers only one of them")]
    public static partial void MacClash(ILogger logger, string network, string endpoint, string mac, string other);
    [LoggerMessage(EventId = LogEvents.AddressDeclined, Level = LogLevel.Warning, Message = "Endpoint {Network}/{Endpoint} declined {Declined} (in use on the wire); moved to {Next}")]
    public static partial void AddressDeclined(ILogger logger, string network, string endpoint, string declined, string next);
    [LoggerMessage(EventId = LogEvents.PortPublished, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} published {Spec}")]
    public static partial void PortPublished(ILogger logger, string network, string endpoint, string spec);
    [LoggerMessage(EventId = LogEvents.PortUnpublished, Level = LogLevel.Information, Message = "Endpoint {Network}/{Endpoint} unpublished {Spec}")]
    public static partial void PortUnpublished(ILogger logger, string network, string endpoint, string spec);
    [LoggerMessage(EventId = LogEvents.PortRestoreFailed, Level = LogLevel.Warning, Message = "Published port {Spec} of endpoint {Network}/{Endpoint} could not be restored: {Reason}")]
    public static partial void PortRestoreFailed(ILogger logger, string network, string endpoint, string spec, string reason);
    [LoggerMessage(EventId = LogEvents.BridgeWarning, Level = LogLevel.Warning, Message = "Network {Network} bridges to {Interface}: {Warning}")]
    public static partial void BridgeWarning(ILogger logger, string network, string @interface, string warning);
    [LoggerMessage(EventId = LogEvents.BridgeRestoreFailed, Level = LogLevel.Warning, Message = "Bridged network {Network} restored without its LAN on {Interface}: {Reason}")]
    public static partial void BridgeRestoreFailed(ILogger logger, string network, string @interface, string reason);
    [LoggerMessage(EventId = LogEvents.DataPlaneEventDropped, Level = LogLevel.Warning, Message = "Data-plane event dropped: the state writer is {Count} events behind ({Event})")]
    public static partial void EventDropped(ILogger logger, int count, string @event);
    [LoggerMessage(EventId = LogEvents.DataPlaneEventFailed, Level = LogLevel.Error, Message = "Writing a data-plane event ({Event}) failed")]
    public static partial void EventFailed(ILogger logger, string @event, Exception error);
    [LoggerMessage(EventId = LogEvents.StateUnwritable, Level = LogLevel.Error, Message = "State writes fail: {Reason}. DHCP and the rest of the data plane go on from memory; leases are stored when the disk takes writes again, and API changes are refused until then (507)")]
    public static partial void StateUnwritable(ILogger logger, string reason);
    [LoggerMessage(EventId = LogEvents.StateWritableAgain, Level = LogLevel.Information, Message = "State writes work again; {Pending} data-plane write(s) that waited are being stored")]
    public static partial void StateWritableAgain(ILogger logger, int pending);
    [LoggerMessage(EventId = LogEvents.HostResolversApplied, Level = LogLevel.Debug, Message = "New host resolvers applied to {Count} network(s) that follow them (caches flushed)")]
    public static partial void HostResolversApplied(ILogger logger, int count);
}
