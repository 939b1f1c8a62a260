using System.Net;
using System.Text.Json;
using Switchyard.Network.Vxlan;

namespace Switchyard.Daemon.State;

/// <summary>A network's VXLAN uplink as the <c>vxlan</c> column holds it (JSON, schema 8): the VNI
/// and the canonical <c>ADDR:PORT</c> texts (<see cref="IPEndPoint.ToString"/>) the planner checked.</summary>
public sealed record StoredVxlan
{
    public required int Vni { get; init; }
    public required string Local { get; init; }
    public required IReadOnlyList<string> Peers { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, DaemonJsonContext.Default.StoredVxlan);

    public static StoredVxlan? FromJson(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, DaemonJsonContext.Default.StoredVxlan)
            ?? throw new FormatException("the vxlan column of a network in state.db is null JSON");

    /// <summary>What the tunnel is opened with.</summary>
    public VxlanSettings ToSettings() =>
        new((uint)Vni, IPEndPoint.Parse(Local), Peers.Select(IPEndPoint.Parse).ToList());
}
