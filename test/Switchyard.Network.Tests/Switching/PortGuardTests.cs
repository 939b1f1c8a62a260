using System.Net;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Switching;

public class PortGuardTests
{
    private static readonly MacAddress Own = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress Other = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address OwnIp = Ipv4Address.Parse("10.88.0.10");
    private static readonly Ipv4Address OtherIp = Ipv4Address.Parse("10.88.0.11");
    private static readonly Ipv4Address Gw = Ipv4Address.Parse("10.88.0.1");
    private static readonly Ipv6Prefix Prefix = Ipv6Prefix.Parse("fd00:88::/64");

    public static TheoryData<string, string?> Cases => new()
    {
        { "own-mac-own-ip-udp", null },
        { "own-mac-non-ip", null },
        { "other-mac", "spoofed-mac" },
        { "other-mac-non-ip", "spoofed-mac" },
        { "other-ipv4-source", "spoofed-ip" },
        { "dhcp-from-any", null },
        { "any-to-other-udp-port", "spoofed-ip" },
        { "any-udp-67-to-67", "spoofed-ip" },
        { "any-icmp", "spoofed-ip" },
        { "arp-own", null },
        { "arp-probe", null },
        { "arp-foreign-sender-mac", "spoofed-mac" },
        { "arp-foreign-sender-ip", "spoofed-ip" },
        { "ipv6-unspecified", null },
        { "ipv6-own-link-local", null },
        { "ipv6-other-link-local", "spoofed-ip" },
        { "ipv6-unspecified-udp", "spoofed-ip" },
        { "ipv6-global", "spoofed-ip" },
        { "ipv6-own-slaac", null },
        { "ipv6-own-id-other-prefix", "spoofed-ip" },
        { "ipv6-other-slaac", "spoofed-ip" },
        { "ipv4-truncated", "malformed" },
        { "ipv6-truncated", "malformed" },
    };

    private static byte[] Frame(string name) => name switch
    {
        "own-mac-own-ip-udp" => Frames.Udp(Other, Own, OwnIp, OtherIp, 1000, 2000, [1, 2, 3]),
        "own-mac-non-ip" => Frames.Raw(MacAddress.Broadcast, Own, 0x88CC),
        "other-mac" => Frames.Udp(Other, Other, OwnIp, OtherIp, 1000, 2000, [1]),
        "other-mac-non-ip" => Frames.Raw(MacAddress.Broadcast, Other, 0x88CC),
        "other-ipv4-source" => Frames.Udp(Other, Own, OtherIp, Gw, 1000, 2000, [1]),
        "dhcp-from-any" => Frames.Udp(MacAddress.Broadcast, Own, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, new byte[300]),
        "any-to-other-udp-port" => Frames.Udp(MacAddress.Broadcast, Own, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 53, new byte[20]),
        "any-udp-67-to-67" => Frames.Udp(MacAddress.Broadcast, Own, Ipv4Address.Any, Ipv4Address.Broadcast, 67, 67, new byte[20]),
        "any-icmp" => Frames.IcmpEcho(MacAddress.Broadcast, Own, Ipv4Address.Any, Gw, 1, 1, [0]),
        "arp-own" => Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, Own, OwnIp, MacAddress.Zero, Gw),
        "arp-probe" => Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, Own, Ipv4Address.Any, MacAddress.Zero, OwnIp),
        "arp-foreign-sender-mac" => Frames.Arp(MacAddress.Broadcast, ArpPacket.OpReply, Other, OwnIp, MacAddress.Zero, Gw, ethSrc: Own),
        "arp-foreign-sender-ip" => Frames.Arp(MacAddress.Broadcast, ArpPacket.OpReply, Own, OtherIp, MacAddress.Zero, Gw),
        "ipv6-unspecified" => Frames.Ipv6(Own, IPAddress.IPv6Any),
        "ipv6-own-link-local" => Frames.Ipv6(Own, Ipv6Address.LinkLocal(Own).ToIPAddress()),
        "ipv6-other-link-local" => Frames.Ipv6(Own, IPAddress.Parse("fe80::1")),
        "ipv6-unspecified-udp" => Frames.Ipv6(Own, IPAddress.IPv6Any, IpProtocol.Udp),
        "ipv6-own-slaac" => Frames.Ipv6(Own, Ipv6Address.Slaac(Prefix, Own).ToIPAddress()),
        "ipv6-own-id-other-prefix" => Frames.Ipv6(Own, Ipv6Address.Slaac(Ipv6Prefix.Parse("fd00:9::/64"), Own).ToIPAddress()),
        "ipv6-other-slaac" => Frames.Ipv6(Own, Ipv6Address.Slaac(Prefix, Other).ToIPAddress()),
        "ipv6-global" => Frames.Ipv6(Own, IPAddress.Parse("2001:db8::1")),
        "ipv4-truncated" => Frames.Raw(Other, Own, EtherType.IPv4, 10),
        "ipv6-truncated" => Frames.Raw(Other, Own, EtherType.IPv6, 39),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Allows_FollowsTheRules(string name, string? expectedDrop)
    {
        var guard = new PortGuard(Own, OwnIp, ipv6: Prefix);
        Assert.True(EthernetFrame.TryParse(Frame(name), out var eth));
        bool allowed = guard.Allows(eth, out var reason);
        if (expectedDrop is null) Assert.True(allowed, $"{name} should pass, got {DropReasonNames.Of(reason)}");
        else
        {
            Assert.False(allowed);
            Assert.Equal(expectedDrop, DropReasonNames.Of(reason));
        }
    }

    [Fact]
    public void SetIpv4_ChangesWhatPasses()
    {
        var guard = new PortGuard(Own, OwnIp);
        var fromOld = Frames.Udp(Other, Own, OwnIp, Gw, 1, 2, [1]);
        var fromNew = Frames.Udp(Other, Own, OtherIp, Gw, 1, 2, [1]);
        Assert.True(Allows(guard, fromOld));
        Assert.False(Allows(guard, fromNew));
        guard.SetIpv4(OtherIp);
        Assert.Equal(OtherIp, guard.Ipv4);
        Assert.False(Allows(guard, fromOld));
        Assert.True(Allows(guard, fromNew));
        Assert.True(Allows(guard, Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, Own, OtherIp, MacAddress.Zero, Gw)));
        Assert.False(Allows(guard, Frames.Arp(MacAddress.Broadcast, ArpPacket.OpRequest, Own, OwnIp, MacAddress.Zero, Gw)));
    }

    private static bool Allows(PortGuard guard, byte[] frame)
    {
        Assert.True(EthernetFrame.TryParse(frame, out var eth));
        return guard.Allows(eth, out _);
    }
}
