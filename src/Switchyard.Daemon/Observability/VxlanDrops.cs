using Switchyard.Network.Vxlan;

namespace Switchyard.Daemon.Observability;

/// <summary>The tunnel's drop counters by the reason names the API and /metrics share.</summary>
internal static class VxlanDrops
{
    public static readonly string[] Reasons = ["not-a-peer", "wrong-vni", "malformed", "bad-flags", "too-big", "local-source"];

    public static Dictionary<string, long> ByReason(VxlanCounters c) => new()
    {
        ["not-a-peer"] = c.DroppedNotAPeer,
        ["wrong-vni"] = c.DroppedWrongVni,
        ["malformed"] = c.DroppedMalformed,
        ["bad-flags"] = c.DroppedBadFlags,
        ["too-big"] = c.DroppedTooBig,
        ["local-source"] = c.DroppedLocalSource,
    };
}
