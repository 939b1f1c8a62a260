using System.Net;
using System.Net.Sockets;
using Switchyard.Client;

namespace Switchyard.Cni;

/// <summary>Turns an ADD's configuration and environment into the daemon's attach request: a tap
/// endpoint in the container's namespace, configured like <c>--configure</c>, with the container's
/// name and runtime aliases as DNS names, the port mappings as published ports, and labels that
/// say which attachment it is (for GC and for people reading <c>yard endpoint ls</c>).</summary>
internal static class AttachPlan
{
    public const string ContainerIdLabel = "cni.container-id";
    public const string IfnameLabel = "cni.ifname";
    public const string CniNetworkLabel = "cni.network";

    public static EndpointAttachRequest Build(NetConf conf, CniEnvironment env, string network)
    {
        string containerId = CniEnvironment.Require(env.ContainerId, "CNI_CONTAINERID");
        string netns = CniEnvironment.Require(env.Netns, "CNI_NETNS");
        string ifname = CniEnvironment.Require(env.Ifname, "CNI_IFNAME");
        string name = EndpointNames.For(containerId, ifname);
        var rt = conf.RuntimeConfig;
        return new EndpointAttachRequest
        {
            Name = name,
            Transport = new TransportSpec { Kind = "tap", NetnsPath = netns, Ifname = ifname, Configure = true },
            Mac = rt?.Mac,
            Ip = RequestedIpv4(rt?.Ips),
            Publish = PublishSpecs(rt?.PortMappings, conf.DefaultHostIp),
            Aliases = Aliases(env.ContainerName, conf.Name is { } n && rt?.Aliases?.GetValueOrDefault(n) is { } a ? a : [], name),
            Labels = new Dictionary<string, string>
            {
                [ContainerIdLabel] = containerId,
                [IfnameLabel] = ifname,
                [CniNetworkLabel] = conf.Name ?? network,
            },
        };
    }

    /// <summary>runtimeConfig.portMappings (CONVENTIONS.md "Port mappings") as publish specs. An
    /// empty hostIP means every address, as with the portmap plugin, unless the configuration's
    /// defaultHostIP says otherwise.</summary>
    public static List<string>? PublishSpecs(List<PortMapping>? mappings, string? defaultHostIp)
    {
        if (mappings is null || mappings.Count == 0) return null;
        var specs = new List<string>(mappings.Count);
        foreach (var m in mappings)
        {
            string proto = string.IsNullOrEmpty(m.Protocol) ? "tcp" : m.Protocol.ToLowerInvariant();
            if (proto is not ("tcp" or "udp"))
                throw new CniException(CniErrors.InvalidConfig, $"port mapping {m.HostPort}:{m.ContainerPort}: protocol '{m.Protocol}' is not supported (tcp or udp)");
            string host = string.IsNullOrEmpty(m.HostIp) ? defaultHostIp ?? "0.0.0.0" : m.HostIp;
            string hostPart = IPAddress.TryParse(host, out var addr) && addr.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{host}]" : host;
            string spec = $"{hostPart}:{m.HostPort}:{m.ContainerPort}/{proto}";
            if (!PublishSpec.TryParse(spec, out var parsed, out var error)) throw new CniException(CniErrors.InvalidConfig, "invalid port mapping", error);
            specs.Add(parsed.ToString());
        }
        return specs;
    }

    /// <summary>The container's name first, then the runtime's aliases, each as a DNS label, without
    /// duplicates and without the endpoint's own name (which resolves already).</summary>
    public static List<string>? Aliases(string? containerName, IEnumerable<string> runtimeAliases, string endpointName)
    {
        var labels = new List<string>();
        foreach (var a in runtimeAliases.Prepend(containerName))
        {
            if (EndpointNames.AsLabel(a) is { } l && l != endpointName && !labels.Contains(l)) labels.Add(l);
        }
        return labels.Count == 0 ? null : labels;
    }

    private static string? RequestedIpv4(List<string>? cidrs)
    {
        foreach (var c in cidrs ?? [])
        {
            var text = c.Split('/')[0];
            if (IPAddress.TryParse(text, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork) return ip.ToString();
        }
        return null;
    }
}
