using System.Net;
using System.Net.NetworkInformation;

namespace Switchyard.Packets.Tests.Core;

/// <summary>Shared constants and builders for the core codec tests.</summary>
internal static class CoreFrames
{
    public static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    public static readonly MacAddress MacB = MacAddress.Parse("52:54:00:12:34:56");
    public static readonly Ipv4Address IpA = Ipv4Address.Parse("192.168.64.1");
    public static readonly Ipv4Address IpB = Ipv4Address.Parse("192.168.64.23");

    public static PhysicalAddress Phys(MacAddress m)
    {
        var b = new byte[6];
        m.Write(b);
        return new PhysicalAddress(b);
    }

    public static MacAddress Mac(PhysicalAddress p) => MacAddress.Read(p.GetAddressBytes());
    public static IPAddress Ip(Ipv4Address a) => a.ToIPAddress();

    /// <summary>Deterministic, non-trivial payload bytes.</summary>
    public static byte[] Payload(int length, int seed = 1)
    {
        var b = new byte[length];
        new Random(seed + length).NextBytes(b);
        return b;
    }

    /// <summary>A UDP frame built with our writers via EthernetFrameWriter.FinishUdp.</summary>
    public static byte[] OurUdpFrame(byte[] payload, ushort srcPort = 53, ushort dstPort = 40000)
    {
        var frame = new byte[EthernetFrameWriter.UdpPayloadOffset + payload.Length];
        payload.CopyTo(frame, EthernetFrameWriter.UdpPayloadOffset);
        int n = EthernetFrameWriter.FinishUdp(frame, MacB, MacA, IpA, IpB, srcPort, dstPort, payload.Length);
        Assert.Equal(frame.Length, n);
        return frame;
    }
}
