using Switchyard.Client;

namespace Switchyard.Cni;

/// <summary>A container that went away without a DEL (the daemon was down at <c>podman rm</c>, the
/// host rebooted under a runtime without GC) leaves its endpoint behind, holding its DNS names and
/// host ports, so the next container of that name or with that <c>-p</c> would fail to start. An
/// ADD therefore removes this CNI network's endpoints that stand in its way and whose namespace no
/// longer exists. Only those: an endpoint whose namespace is there is somebody's, and the ADD fails.</summary>
internal static class StaleAttachments
{
    public static List<EndpointInfo> Blocking(IEnumerable<EndpointInfo> endpoints, EndpointAttachRequest request, string cniNetwork,
        Func<string, bool> netnsExists)
    {
        var names = new HashSet<string>(request.Aliases ?? []) { request.Name };
        var ports = HostPorts(request.Publish);
        var stale = new List<EndpointInfo>();
        foreach (var ep in endpoints)
        {
            if (ep.Name == request.Name || ep.Labels is not { } labels || !labels.ContainsKey(AttachPlan.ContainerIdLabel)) continue;
            if (labels.GetValueOrDefault(AttachPlan.CniNetworkLabel) != cniNetwork) continue;
            if (ep.Transport.NetnsPath is not { } path || netnsExists(path)) continue;
            bool nameTaken = names.Contains(ep.Name) || (ep.Aliases ?? []).Any(names.Contains);
            bool portTaken = HostPorts(ep.Published).Overlaps(ports);
            if (nameTaken || portTaken) stale.Add(ep);
        }
        return stale;
    }

    /// <summary>Host ports by protocol; the address is left out, as 0.0.0.0 takes the port on every address.</summary>
    private static HashSet<(int, string)> HostPorts(IEnumerable<string>? specs)
    {
        var ports = new HashSet<(int, string)>();
        foreach (var s in specs ?? [])
            if (PublishSpec.TryParse(s, out var spec, out _)) ports.Add((spec.HostPort, spec.ProtocolName));
        return ports;
    }
}
