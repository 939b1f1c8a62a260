using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchyard.Cni;

/// <summary>The network configuration the runtime writes on stdin (CNI spec 1.0, "Plugin
/// configuration objects"): the conflist's plugin entry plus name, cniVersion, runtimeConfig
/// (from the capabilities we declare) and, for CHECK and DEL, prevResult.</summary>
internal sealed record NetConf
{
    public string? CniVersion { get; init; }
    /// <summary>The CNI network's name (the conflist's).</summary>
    public string? Name { get; init; }
    public string? Type { get; init; }
    /// <summary>The Switchyard network to attach to; default: <see cref="Name"/>.</summary>
    public string? Network { get; init; }
    /// <summary>The daemon's API socket; default: the client's default (YARD_SOCKET, /run/switchyard/yard.sock as root).</summary>
    public string? Socket { get; init; }
    /// <summary>Host address of port mappings that name none (runtimeConfig.portMappings[].hostIP
    /// empty). Default 0.0.0.0: what <c>-p 8080:80</c> means to podman, nerdctl and the portmap plugin.</summary>
    [JsonPropertyName("defaultHostIP")]
    public string? DefaultHostIp { get; init; }
    public RuntimeConfig? RuntimeConfig { get; init; }
    public JsonElement? PrevResult { get; init; }
    /// <summary>GC (spec 1.1): the attachments that are still in use; every other one of ours may go.</summary>
    [JsonPropertyName("cni.dev/valid-attachments")]
    public List<ValidAttachment>? ValidAttachments { get; init; }
}

/// <summary>Capability arguments (CNI CONVENTIONS.md, "Well-known Capabilities").</summary>
internal sealed record RuntimeConfig
{
    public List<PortMapping>? PortMappings { get; init; }
    /// <summary>The <c>aliases</c> capability: extra DNS names by network name (podman's --network-alias).</summary>
    public Dictionary<string, List<string>>? Aliases { get; init; }
    /// <summary>The <c>mac</c> capability.</summary>
    public string? Mac { get; init; }
    /// <summary>The <c>ips</c> capability: CIDRs; the first IPv4 address is requested.</summary>
    public List<string>? Ips { get; init; }
}

internal sealed record PortMapping
{
    public int HostPort { get; init; }
    public int ContainerPort { get; init; }
    public string? Protocol { get; init; }
    [JsonPropertyName("hostIP")]
    public string? HostIp { get; init; }
}

internal sealed record ValidAttachment
{
    [JsonPropertyName("containerID")]
    public string? ContainerId { get; init; }
    public string? Ifname { get; init; }
}

/// <summary>The result of ADD (CNI spec 1.0, "Success"); also what CHECK reads back from prevResult.</summary>
internal sealed record CniResult
{
    public required string CniVersion { get; init; }
    public List<CniInterface>? Interfaces { get; init; }
    public List<CniIp>? Ips { get; init; }
    public List<CniRoute>? Routes { get; init; }
    public CniDns? Dns { get; init; }
}

internal sealed record CniInterface
{
    public required string Name { get; init; }
    public string? Mac { get; init; }
    public int? Mtu { get; init; }
    public string? Sandbox { get; init; }
}

internal sealed record CniIp
{
    /// <summary>Only before 1.0.0: "4" or "6".</summary>
    public string? Version { get; init; }
    public required string Address { get; init; }
    public string? Gateway { get; init; }
    public int? Interface { get; init; }
}

internal sealed record CniRoute
{
    public required string Dst { get; init; }
    public string? Gw { get; init; }
}

internal sealed record CniDns
{
    public List<string>? Nameservers { get; init; }
    public string? Domain { get; init; }
    public List<string>? Search { get; init; }
}

/// <summary>VERSION's answer.</summary>
internal sealed record CniVersionResult
{
    public required string CniVersion { get; init; }
    public required string[] SupportedVersions { get; init; }
}

/// <summary>The error object (CNI spec 1.0, "Error").</summary>
internal sealed record CniError
{
    public required string CniVersion { get; init; }
    public required int Code { get; init; }
    public required string Msg { get; init; }
    public string? Details { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(NetConf))]
[JsonSerializable(typeof(CniResult))]
[JsonSerializable(typeof(CniVersionResult))]
[JsonSerializable(typeof(CniError))]
internal sealed partial class CniJsonContext : JsonSerializerContext;
