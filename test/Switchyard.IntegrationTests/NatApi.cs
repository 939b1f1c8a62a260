using Switchyard.Client;

namespace Switchyard.IntegrationTests;

/// <summary>
/// The parts of the NAT API (issue 5) that the NAT tests use and that were written before NAT landed: every such
/// name is here and only here, so a rename at merge is one edit in this file.
/// <list type="bullet">
/// <item><c>NetworkCreateRequest.HostLoopback</c> (bool or bool?, default on): `yard network create --no-host-loopback`.</item>
/// <item><c>EndpointAttachRequest.Publish</c> (a list of spec strings "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"): `yard endpoint attach --publish`.</item>
/// <item>The name <c>host.DOMAIN</c> answers with the gateway's address.</item>
/// </list>
/// </summary>
internal static class NatApi
{
    public static NetworkCreateRequest WithoutHostLoopback(NetworkCreateRequest request) => request with { HostLoopback = false };

    public static EndpointAttachRequest WithPublished(EndpointAttachRequest request, params string[] specs) => request with { Publish = specs };

    /// <summary>"127.0.0.1:HOSTPORT:GUESTPORT/tcp".</summary>
    public static string TcpOnLoopback(int hostPort, int guestPort) => $"127.0.0.1:{hostPort}:{guestPort}/tcp";

    public static string HostName(NetworkInfo network) => $"host.{network.Domain}";
}
