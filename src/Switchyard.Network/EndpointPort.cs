using Switchyard.Network.Egress;
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
        Config = config;
        DefaultRoute = config.DefaultRoute;
        Egress = new GuestEgress(config.Name);
        Flows = new Nat.FlowShare(config.Name, config.MaxFlows);
        Guard = new PortGuard(config.Mac, config.Ipv4, config.LearnMac, mayLearnMac, ipv6);
    }

    public IFrameTransport Transport { get; }
    public EndpointConfig Config { get; }

    /// <summary>Its egress state: its own policy, the addresses our DNS gave it, decision counters.</summary>
    public GuestEgress Egress { get; }

    /// <summary>Its share of the network's NAT and DNS forwarding: flows held, its cap, refusals.</summary>
    public Nat.FlowShare Flows { get; }

    /// <summary>Whether this guest's lease names the gateway as router; changes when another NIC of
    /// the same guest takes the default route (the guest sees it at its next lease).</summary>
    public bool DefaultRoute { get; set; }
    public MacAddress Mac => Guard!.Mac;
    public Ipv4Address Ipv4 => Guard!.Ipv4;

    public override bool Transmit(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (offload.IsPlain || Transport.SupportsOffload) return Transport.TrySend(frame, offload);
        return SoftwareOffload.Deliver(frame, offload, Transport, static (transport, f) => transport.TrySend(f, VirtioNetHeader.None));
    }
}
