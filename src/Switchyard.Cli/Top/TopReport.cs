using System.Text.Json;
using System.Text.Json.Serialization;
using Switchyard.Client;

namespace Switchyard.Cli.Top;

// What `yard top` shows, as `yard top --once --format json` prints it: rates are per second over
// the interval between two samples; totals are since each endpoint was attached.

internal sealed record TopReport
{
    public required DateTimeOffset Time { get; init; }
    /// <summary>The span the rates are measured over; 0 when there was only one sample.</summary>
    public required double IntervalSeconds { get; init; }
    public required IReadOnlyList<TopNetwork> Networks { get; init; }
}

internal sealed record TopNetwork
{
    public required string Name { get; init; }
    public required string Mode { get; init; }
    public required string Subnet { get; init; }
    public required string Gateway { get; init; }
    /// <summary>The network's egress policy default ("deny": an allowlist, "allow": a denylist); null: no policy.</summary>
    public string? EgressPolicy { get; init; }
    /// <summary>Open NAT flows by protocol; null for networks without a NAT (internal).</summary>
    public NatCounters? Nat { get; init; }
    public long DnsQueries { get; init; }
    public double DnsQueriesPerSecond { get; init; }
    /// <summary>Busiest first: by bytes per second in and out, then frames per second, then name.</summary>
    public required IReadOnlyList<TopEndpoint> Endpoints { get; init; }
    /// <summary>How many NAT flows the network has (as far as one sample asked: <see cref="TopSampler.FlowLimit"/>).</summary>
    public int FlowCount { get; init; }
    /// <summary>The busiest NAT flows (at most <see cref="TopRates.FlowsKept"/>): by payload bytes per
    /// second both ways, then total bytes, then the youngest.</summary>
    public required IReadOnlyList<TopFlow> Flows { get; init; }
    /// <summary>The newest egress decisions, oldest first.</summary>
    public required IReadOnlyList<EgressEvent> Egress { get; init; }
}

/// <summary>One endpoint's traffic. "In" is from the guest into the network, "out" from the network to the guest.</summary>
internal sealed record TopEndpoint
{
    public required string Name { get; init; }
    /// <summary>tap, stream, dgram, udp or fd.</summary>
    public required string Transport { get; init; }
    /// <summary>up or down.</summary>
    public required string State { get; init; }
    public required string Ipv4 { get; init; }
    public required string Mac { get; init; }
    public double BytesInPerSecond { get; init; }
    public double BytesOutPerSecond { get; init; }
    public double FramesInPerSecond { get; init; }
    public double FramesOutPerSecond { get; init; }
    /// <summary>Frames dropped since attach, every reason together.</summary>
    public long Drops { get; init; }
    public double DropsPerSecond { get; init; }
    public long BytesIn { get; init; }
    public long BytesOut { get; init; }
    public long FramesIn { get; init; }
    public long FramesOut { get; init; }
    /// <summary>Egress decisions about its traffic since attach (networks or endpoints with a policy).</summary>
    public long EgressAllowed { get; init; }
    public long EgressDenied { get; init; }

    public double BytesPerSecond => BytesInPerSecond + BytesOutPerSecond;
    public double FramesPerSecond => FramesInPerSecond + FramesOutPerSecond;
}

/// <summary>One NAT flow, with its payload rates. "In" is from the guest, "out" back to it.</summary>
internal sealed record TopFlow
{
    /// <summary>tcp, udp or icmp.</summary>
    public required string Protocol { get; init; }
    /// <summary>The endpoint the flow's guest is; null when no endpoint has its MAC now.</summary>
    public string? Endpoint { get; init; }
    public required string Guest { get; init; }
    public required string Destination { get; init; }
    public required string State { get; init; }
    /// <summary>A connection to a published port (inbound), not one the guest opened.</summary>
    public bool Published { get; init; }
    public double AgeSeconds { get; init; }
    public double IdleSeconds { get; init; }
    public double BytesInPerSecond { get; init; }
    public double BytesOutPerSecond { get; init; }
    public long BytesFromGuest { get; init; }
    public long BytesToGuest { get; init; }

    public double BytesPerSecond => BytesInPerSecond + BytesOutPerSecond;
}

/// <summary>The CLI's own JSON documents (the API's are in <see cref="SwitchyardJsonContext"/>).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true,
    IgnoreReadOnlyProperties = true)]
[JsonSerializable(typeof(TopReport))]
[JsonSerializable(typeof(List<string>))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
