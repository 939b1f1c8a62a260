using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network;

/// <summary>A guest's port on the switch, fed by its transport.</summary>
public sealed class EndpointPort : SwitchPort
{
    public EndpointPort(EndpointConfig config, IFrameTransport transport, Func<MacAddress, bool>? mayLearnMac = null, Ipv6Prefix? ipv6 = null) : base(config.Name)
    {
        Transport = transport;
        Guard = new PortGuard(config.Mac, config.Ipv4, config.LearnMac, mayLearnMac, ipv6);
    }

    public IFrameTransport Transport { get; }
    public MacAddress Mac => Guard!.Mac;
    public Ipv4Address Ipv4 => Guard!.Ipv4;

    public override bool Transmit(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (offload.IsPlain || Transport.SupportsOffload) return Transport.TrySend(frame, offload);
        return SoftwareOffload.Deliver(frame, offload, Transport, static (transport, f) => transport.TrySend(f, VirtioNetHeader.None));
    }
}
