using Switchyard.Packets;

namespace Switchyard.Network.Nat;

/// <summary>A NAT flow as the guest sees it: its own address and port, and the remote address and
/// port it talks to (an outside host, the gateway for host loopback, or a published port's client).</summary>
public readonly record struct FlowKey(Ipv4Address GuestIp, ushort GuestPort, Ipv4Address RemoteIp, ushort RemotePort)
{
    public override string ToString() => $"{GuestIp}:{GuestPort} <-> {RemoteIp}:{RemotePort}";
}
