using Switchyard.Packets;

namespace Switchyard.Network.Nat;

// UDP and ICMP echo translation: being written (UdpFlow, IcmpEchoFlow). Until then the NAT
// answers UDP with port unreachable and drops echo requests, as the gateway did before.
public sealed partial class NatEngine
{
    public int UdpFlowCount => 0;
    public int IcmpFlowCount => 0;

    private void HandleUdp(MacAddress guestMac, in Ipv4Packet ip, bool verifyL4) =>
        _gateway.SendUnreachable(guestMac, ip.Source, _gateway.Address, 3, ip.Bytes[..Math.Min(ip.Bytes.Length, ip.HeaderLength + 8)]);

    private void HandleIcmp(MacAddress guestMac, in Ipv4Packet ip) { }

    private void TickUdpAndIcmp(long now) { }

    private void ForgetGuestUdpAndIcmp(Ipv4Address address) { }

    private void DisposeUdpAndIcmp() { }

    private IDisposable PublishUdp(PublishedPort spec, Func<GuestAddress?> guest) =>
        throw new PublishException($"publishing UDP ({spec}) is not available yet");
}
