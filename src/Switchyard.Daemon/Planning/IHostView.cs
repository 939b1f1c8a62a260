using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Daemon.Planning;

/// <summary>What a plan needs to know of the host: its routes and the interface a bridged network
/// would join. <c>Control/HostView</c> reads the real host; planner tests give a fixed one.</summary>
public interface IHostView
{
    /// <summary>The interface a bridged network may join: <paramref name="name"/>, or the one of the
    /// host's default route; it must exist, be up, and be Ethernet. Otherwise <see cref="Control.ControlError.Invalid"/>.</summary>
    HostInterface BridgeInterface(string? name);

    IReadOnlyList<(uint Network, int PrefixLength, string Interface)> Ipv4Routes();
    IReadOnlyList<(Ipv6Prefix Prefix, string Interface)> Ipv6Routes();

    /// <summary>The IP MTU of the host's route to <paramref name="destination"/> (a VXLAN tunnel's
    /// underlay), or null when the host cannot say.</summary>
    int? UnderlayMtu(System.Net.IPAddress destination);
}
