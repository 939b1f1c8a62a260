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
    /// <summary>The newest egress decisions, oldest first.</summary>
    public required IReadOnlyList<EgressEvent> Egress { get; init; }
}

/// <summary>One endpoint's traffic. "In" is from the guest into the network, "out" from the network to the guest.</summary>
internal sealed record TopEndpoint
{
    public required string Name { get; init; }
    /// <summary>tap, stream, dgram or fd.</summary>
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

/// <summary>The CLI's own JSON documents (the API's are in <see cref="SwitchyardJsonContext"/>).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true,
    IgnoreReadOnlyProperties = true)]
[JsonSerializable(typeof(TopReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
