using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Network;

namespace Switchyard.Daemon.Planning;

/// <summary>A network's mode as a request spells it: <c>nat</c>, <c>host</c>, <c>internal</c>,
/// <c>bridged</c>, <c>bridged:IFACE</c> or <c>bridged:vxlan</c> (<paramref name="Vxlan"/>: a bridged
/// network whose uplink is its VXLAN tunnel, joining another host's network; so an interface named
/// "vxlan" cannot be bridged to). Parsed here once; everything after holds the enum.</summary>
public readonly record struct ModeSpec(NetworkMode Mode, string? BridgeInterface, bool Vxlan = false)
{
    public const string BridgedVxlan = "bridged:vxlan";

    /// <summary>The mode a request names (null: nat); an unknown one is <see cref="ControlError.Invalid"/>.</summary>
    public static ModeSpec Parse(string? text)
    {
        text ??= "nat";
        if (StoredText.TryParseMode(text, out var mode)) return new(mode, null);
        if (text == BridgedVxlan) return new(NetworkMode.Bridged, null, Vxlan: true);
        if (text.StartsWith("bridged:", StringComparison.Ordinal) && text.Length > 8) return new(NetworkMode.Bridged, text[8..]);
        throw ControlException.Invalid($"unknown mode '{text}': use nat, host, internal, bridged, bridged:IFACE or bridged:vxlan");
    }

    public static string Name(NetworkMode mode) => StoredText.Of(mode);
}
