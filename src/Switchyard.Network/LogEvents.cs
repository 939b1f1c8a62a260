namespace Switchyard.Network;

/// <summary>
/// Every <c>[LoggerMessage]</c> event id of Switchyard, in one place, so each is unique and a log
/// reader can filter on it: the daemon's (which references this assembly) and the data plane's.
/// One block of numbers per area; a new log method takes the next free number of its area.
/// <c>LogEventsTests</c> fails when an id is given twice or a log method's id is not from here.
/// </summary>
public static class LogEvents
{
    // 1-9: the daemon's host.
    public const int DaemonListening = 1;
    public const int DaemonStopped = 2;
    public const int DaemonHttpListening = 3;

    // 10-19: networks.
    public const int NetworkCreated = 10;
    public const int NetworkUpdated = 11;
    public const int NetworkRemoved = 12;
    public const int EgressPolicyUpdated = 13;
    public const int BridgeWarning = 14;
    public const int BridgeRestoreFailed = 15;
    public const int HostResolversApplied = 16;

    // 20-29: endpoints.
    public const int EndpointAttached = 20;
    public const int EndpointDetached = 21;
    public const int EndpointRestored = 22;
    public const int EndpointRestoreFailed = 23;
    public const int MacLearned = 24;
    public const int MacClash = 25;
    public const int AddressDeclined = 26;

    // 30-39: leases and the data plane's events (the state writer).
    public const int LeaseChanged = 30;
    public const int DataPlaneEventDropped = 31;
    public const int DataPlaneEventFailed = 32;

    // 40-49: published ports.
    public const int PortPublished = 40;
    public const int PortUnpublished = 41;
    public const int PortRestoreFailed = 42;

    // 50-59: the API's fd handoff.
    public const int SocketHandedOver = 50;
    public const int SocketHandoffFailed = 51;

    // 60-69: the egress audit log.
    public const int EgressAuditBehind = 60;

    // 70-79: the host's resolvers.
    public const int HostResolversRead = 70;
    public const int HostResolversChanged = 71;
    public const int HostResolversNone = 72;
    public const int HostResolversUnreadable = 73;

    // 100-109: guest transports.
    public const int TapDeviceGone = 100;
    public const int ReceiveFailed = 101;
    public const int FrameHandlingFailed = 102;
    public const int VmConnected = 103;
    public const int VmDisconnected = 104;
    public const int VmDropped = 105;
    public const int ConnectionLost = 106;

    // 110-119: a bridged network's uplink.
    public const int UplinkDown = 110;
    public const int LeaseSnooped = 111;
    public const int UplinkGuestsFailed = 112;

    // 120-129: state persistence behind the data plane (issue 16: leases off the packet path).
    public const int StateUnwritable = 120;
    public const int StateWritableAgain = 121;
    // 130-139: per-endpoint warning rate limits and socket paths (issue 16).
    public const int TransportLogSuppressed = 130;
    public const int DgramPeerIgnored = 131;
    public const int DgramPeerFollowed = 132;
    // 140-149: API callers and their credentials (issue 16).
    public const int ControlRequest = 140;
    public const int ControlDenied = 141;
    public const int HandoffRequest = 142;
    public const int CallerUnknown = 143;
    // 150-159: egress checks of HTTP requests (issue 16).

    // 160-169: the CNI plugin's daemon side (issue 12).
    // 170-179: the Docker remote network driver (issue 12).
    public const int DockerPluginListening = 170;
    public const int DockerNetworkRequested = 171;
    public const int DockerNetworkMade = 172;
    public const int DockerNetworkNotMade = 173;
    public const int DockerNetworkDeleted = 174;
    public const int DockerEngineUnavailable = 175;
    public const int DockerEndpointCreated = 176;
    public const int DockerEndpointDeleted = 177;
    public const int DockerCallFailed = 178;
    public const int DockerEndpointReattached = 179;
    // 180-189: the UDP transport and vfkit's handshake (issue 12).
    public const int UdpPeerLearnt = 180;
    public const int UdpPeerIgnored = 181;
    public const int VfkitHandshake = 182;
    // 190-199: housekeeping: prune, filters, labels (issue 12).

    // 200-249: the gateway's services.
    public const int DnsAnswerFailed = 200;
    public const int RouterAdvertisementFailed = 201;

    // 250-299: DNS forwarding.
    public const int UpstreamResolverFailed = 250;

    // 300-399: the NAT.
    public const int NatTickFailed = 300;
    public const int PublishedAcceptFailed = 301;
    public const int IcmpEchoRawSockets = 310;
    public const int IcmpEchoUnavailable = 311;
    // 320-339: fair shares and the fd budget (issue 16).
    // 400-419 (after the NAT's block): VXLAN uplinks and multi-host networks (issue 14).
    public const int NatFlowRefused = 320;
    public const int NetworkMaxFlowsChanged = 322;
    public const int OpenFileLimitRaised = 325;
    public const int OpenFileLimitNotRaised = 326;
    public const int MemoryReturned = 327;

    // 400-404: the tunnel's data plane (Vxlan/VxlanTunnel.cs).
    public const int VxlanListening = 400;
    public const int VxlanDropped = 401;
    public const int VxlanReceiveError = 402;
    public const int VxlanUnderlayTooSmall = 403;
    public const int VxlanPeersChanged = 404;
    // 405-409: VXLAN networks in the control plane (Daemon/Control).
    public const int VxlanPeersUpdated = 405;
    public const int VxlanRestoreFailed = 406;
    // 410-414: the gateway host's service of guests behind a tunnel (dynamic pool, remote leases).
    public const int TunnelGuestsServed = 410;
    public const int RemoteLeaseChanged = 411;
    public const int DhcpRangeChanged = 412;
    // Issue 14/15 blocks (one per helper; each defines only its own ids):
    // 420-424 vxgro (coalescing toward the guest), 425-429 vxpub (published ports to remote guests),
    // 430-434 relay (bench relay), 435-439 sockfast (batched socket transports),
    // 440-444 memscale (memory and scale), 445-449 natperf (the TAP/NAT path).
    // 425-429 (vxpub): host ports published to remote guests (Daemon/Control/RemotePublishedPorts).
    public const int RemotePortPublished = 425;
    public const int RemotePortUnpublished = 426;
    public const int RemotePortRestoreFailed = 427;
}
