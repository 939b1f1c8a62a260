using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>A bridged network's way onto a host LAN: frames the switch sends to it go out on the
/// host interface, and frames from the LAN for the guests (their MACs, broadcast, multicast) come
/// back through <see cref="IFrameTransport.Start"/>. The guest MACs are told to it whenever they
/// change, so it can take exactly those from the LAN. Linux: <see cref="PacketUplinkTransport"/>;
/// macOS would be vmnet's bridged mode (docs/macos.md).</summary>
public interface IUplinkTransport : IFrameTransport
{
    /// <summary>The host interface, e.g. "eth0".</summary>
    string Interface { get; }

    /// <summary>Replaces the set of guest MACs the uplink takes from the LAN.</summary>
    void SetGuests(IReadOnlyCollection<MacAddress> macs);
}
