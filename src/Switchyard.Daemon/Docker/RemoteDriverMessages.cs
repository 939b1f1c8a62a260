using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchyard.Daemon.Docker;

// The wire types of libnetwork's remote driver protocol (docs/remote.md in moby/libnetwork;
// drivers/remote/api/api.go). Field names are Docker's, PascalCase, exactly as it sends them.

/// <summary>Every answer may carry <c>Err</c>; Docker treats a non-empty one as the call's failure.</summary>
internal record DriverResponse
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Err { get; init; }
}

internal sealed record ActivateResponse : DriverResponse
{
    public required IReadOnlyList<string> Implements { get; init; }
}

internal sealed record CapabilitiesResponse : DriverResponse
{
    public required string Scope { get; init; }
    public required string ConnectivityScope { get; init; }
}

/// <summary>One address pool of Docker's IPAM: <c>Pool</c> a CIDR, <c>Gateway</c> an address with its prefix length.</summary>
internal sealed record IpamData
{
    public string? AddressSpace { get; init; }
    public string? Pool { get; init; }
    public string? Gateway { get; init; }
    public Dictionary<string, string>? AuxAddresses { get; init; }
}

internal sealed record CreateNetworkRequest
{
    public string NetworkID { get; init; } = "";
    public Dictionary<string, JsonElement>? Options { get; init; }
    public List<IpamData>? IPv4Data { get; init; }
    public List<IpamData>? IPv6Data { get; init; }
}

/// <summary>DeleteNetwork, FreeNetwork: the network alone.</summary>
internal sealed record NetworkRequest
{
    public string NetworkID { get; init; } = "";
}

internal sealed record AllocateNetworkRequest
{
    public string NetworkID { get; init; } = "";
    public Dictionary<string, string>? Options { get; init; }
}

internal sealed record AllocateNetworkResponse : DriverResponse
{
    public Dictionary<string, string> Options { get; init; } = [];
}

internal sealed record EndpointInterface
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Address { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AddressIPv6 { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MacAddress { get; init; }
}

/// <summary>CreateEndpoint, Join, ProgramExternalConnectivity (and the calls that need only the two IDs).</summary>
internal sealed record EndpointRequest
{
    public string NetworkID { get; init; } = "";
    public string EndpointID { get; init; } = "";
    public EndpointInterface? Interface { get; init; }
    public string? SandboxKey { get; init; }
    public Dictionary<string, JsonElement>? Options { get; init; }
}

internal sealed record CreateEndpointResponse : DriverResponse
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public EndpointInterface? Interface { get; init; }
}

internal sealed record EndpointInfoResponse : DriverResponse
{
    public Dictionary<string, string> Value { get; init; } = [];
}

internal sealed record InterfaceName
{
    public required string SrcName { get; init; }
    public required string DstPrefix { get; init; }
}

internal sealed record JoinResponse : DriverResponse
{
    public required InterfaceName InterfaceName { get; init; }
    public string Gateway { get; init; } = "";
    public string GatewayIPv6 { get; init; } = "";
    public bool DisableGatewayService { get; init; }
}

/// <summary>One published port as Docker hands it to ProgramExternalConnectivity
/// (<c>com.docker.network.portmap</c>, libnetwork types.PortBinding; Proto 6 TCP, 17 UDP).</summary>
internal sealed record PortBinding
{
    public int Proto { get; init; }
    public string? IP { get; init; }
    public int Port { get; init; }
    public string? HostIP { get; init; }
    public int HostPort { get; init; }
    public int HostPortEnd { get; init; }
}

/// <summary>What the daemon remembers of a Docker network (see <see cref="DockerBindings"/>).</summary>
internal sealed record DockerNetworkBinding
{
    public required string NetworkId { get; init; }
    /// <summary>The Switchyard network's name; null until Docker's name for it is known.</summary>
    public string? Name { get; init; }
    /// <summary>The network existed before Docker asked for it: <c>docker network rm</c> leaves it.</summary>
    public bool Adopted { get; init; }
    public required DockerNetworkSpec Spec { get; init; }
}

/// <summary>A Docker network's options, checked (see <see cref="DockerNetworkOptions"/>).</summary>
internal sealed record DockerNetworkSpec
{
    public required string Subnet { get; init; }
    /// <summary>Null: whatever a network to adopt has, nat for a new one.</summary>
    public string? Mode { get; init; }
    public Client.EgressPolicySpec? Egress { get; init; }
    public int? Mtu { get; init; }
    public IReadOnlyList<string>? DnsUpstreams { get; init; }
}

/// <summary>The part of dockerd's <c>GET /networks/{id}</c> answer the driver reads.</summary>
internal sealed record EngineNetwork
{
    public string? Name { get; init; }
    public string? Id { get; init; }
    public string? Driver { get; init; }
    /// <summary>The containers joined, by container ID.</summary>
    public Dictionary<string, EngineNetworkContainer>? Containers { get; init; }
}

internal sealed record EngineNetworkContainer
{
    public string? EndpointID { get; init; }
}

/// <summary>The part of dockerd's <c>GET /containers/{id}/json</c> answer the driver reads.</summary>
internal sealed record EngineContainer
{
    public EngineContainerState? State { get; init; }
    public EngineNetworkSettings? NetworkSettings { get; init; }
}

internal sealed record EngineContainerState
{
    public bool Running { get; init; }
}

internal sealed record EngineNetworkSettings
{
    /// <summary>The container's network namespace, e.g. /var/run/docker/netns/1a2b3c4d5e6f.</summary>
    public string? SandboxKey { get; init; }
    public Dictionary<string, JsonElement>? Networks { get; init; }
}

/// <summary>A Docker endpoint in a running container, as dockerd describes it.</summary>
internal sealed record JoinedEndpoint(string EndpointId, string SandboxKey, int Networks);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(DriverResponse))]
[JsonSerializable(typeof(ActivateResponse))]
[JsonSerializable(typeof(CapabilitiesResponse))]
[JsonSerializable(typeof(CreateNetworkRequest))]
[JsonSerializable(typeof(NetworkRequest))]
[JsonSerializable(typeof(AllocateNetworkRequest))]
[JsonSerializable(typeof(AllocateNetworkResponse))]
[JsonSerializable(typeof(EndpointRequest))]
[JsonSerializable(typeof(CreateEndpointResponse))]
[JsonSerializable(typeof(EndpointInfoResponse))]
[JsonSerializable(typeof(JoinResponse))]
[JsonSerializable(typeof(List<PortBinding>))]
[JsonSerializable(typeof(Dictionary<string, DockerNetworkBinding>))]
[JsonSerializable(typeof(EngineNetwork))]
[JsonSerializable(typeof(EngineContainer))]
internal sealed partial class DockerJsonContext : JsonSerializerContext;
