using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network;

/// <summary>A bridged network's port to the host's LAN. It has no guard: what comes from the LAN is
/// the LAN's (the uplink already drops frames that claim a guest's MAC as their source).</summary>
public sealed class UplinkPort(IUplinkTransport transport) : SwitchPort("uplink")
{
    public IUplinkTransport Transport { get; } = transport;

    public override bool Transmit(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (offload.IsPlain || Transport.SupportsOffload) return Transport.TrySend(frame, offload);
        return SoftwareOffload.Deliver(frame, offload, Transport, static (transport, f) => transport.TrySend(f, VirtioNetHeader.None));
    }
}
