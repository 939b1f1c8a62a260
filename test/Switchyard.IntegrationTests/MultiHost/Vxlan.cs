using System.Text.Json;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>A network's tunnel as `yard network inspect` shows it (docs/multi-host.md): the "vxlan" object and its counters.</summary>
internal sealed record Vxlan(JsonElement Json)
{
    public static Vxlan Of(YardCli cli, string network) =>
        new(cli.Json("network", "inspect", network).GetProperty("vxlan"));

    public string State => Json.GetProperty("state").GetString() ?? "";
    private JsonElement Counters => Json.GetProperty("counters");
    public long DatagramsIn => Counters.GetProperty("datagramsIn").GetInt64();
    public int LearntMacs => Counters.GetProperty("learntMacs").GetInt32();

    /// <summary>Drops under one reason: not-a-peer, wrong-vni, malformed, bad-flags, too-big (0 when none yet).</summary>
    public long Dropped(string reason) =>
        Counters.GetProperty("dropped").TryGetProperty(reason, out var n) ? n.GetInt64() : 0;

    public long SentTo(string peer) =>
        Counters.GetProperty("sentPerPeer").TryGetProperty(peer, out var n) ? n.GetInt64() : 0;

    public override string ToString() => Json.GetRawText();
}
