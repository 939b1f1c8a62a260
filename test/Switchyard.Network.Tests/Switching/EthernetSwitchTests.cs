using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Switching;

public class EthernetSwitchTests
{
    private static readonly MacAddress A = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress B = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly MacAddress C = MacAddress.Parse("02:00:00:00:00:0c");
    private static readonly MacAddress Unknown = MacAddress.Parse("02:00:00:00:00:99");

    private static (EthernetSwitch Switch, CapturePort A, CapturePort B, CapturePort C) Build(int mtu = 1500)
    {
        var sw = new EthernetSwitch(mtu);
        var a = new CapturePort("a"); var b = new CapturePort("b"); var c = new CapturePort("c");
        sw.AddPort(a); sw.AddPort(b); sw.AddPort(c);
        return (sw, a, b, c);
    }

    [Fact]
    public void UnknownUnicast_FloodsToAllButIngress()
    {
        var (sw, a, b, c) = Build();
        sw.Forward(a, Frames.Raw(Unknown, A, EtherType.IPv4));
        Assert.Empty(a.Frames);
        Assert.Single(b.Frames);
        Assert.Single(c.Frames);
    }

    [Fact]
    public void LearnedUnicast_GoesOnlyToLearnedPort()
    {
        var (sw, a, b, c) = Build();
        sw.Forward(b, Frames.Raw(MacAddress.Broadcast, B, EtherType.Arp)); // B speaks: learned on port b
        a.Clear(); b.Clear(); c.Clear();

        var frame = Frames.Raw(B, A, EtherType.IPv4);
        sw.Forward(a, frame);
        Assert.Empty(a.Frames);
        Assert.Empty(c.Frames);
        Assert.Equal(frame, Assert.Single(b.Frames));
    }

    [Fact]
    public void UnicastToIngressOwnMac_IsNotReflected()
    {
        var (sw, a, b, c) = Build();
        sw.Forward(a, Frames.Raw(B, A, EtherType.IPv4));
        a.Clear(); b.Clear(); c.Clear();
        sw.Forward(b, Frames.Raw(A, B, EtherType.IPv4)); // learns B on b
        sw.Forward(b, Frames.Raw(B, B, EtherType.IPv4)); // to itself: hairpin suppressed
        Assert.Single(a.Frames);
        Assert.Empty(b.Frames);
        Assert.Empty(c.Frames);
    }

    [Theory]
    [InlineData("ff:ff:ff:ff:ff:ff")]
    [InlineData("01:00:5e:00:00:fb")]
    [InlineData("33:33:00:00:00:01")]
    public void BroadcastAndMulticast_FloodToAllButIngress(string dst)
    {
        var (sw, a, b, c) = Build();
        sw.Forward(b, Frames.Raw(A, B, EtherType.IPv4)); // learn B; must not matter for group addresses
        a.Clear(); c.Clear();
        sw.Forward(b, Frames.Raw(MacAddress.Parse(dst), B, EtherType.IPv4));
        Assert.Single(a.Frames);
        Assert.Empty(b.Frames);
        Assert.Single(c.Frames);
    }

    [Fact]
    public void Counters_CountFramesAndBytesBothWays()
    {
        var (sw, a, b, c) = Build();
        var f1 = Frames.Raw(MacAddress.Broadcast, A, EtherType.IPv4, 100);
        var f2 = Frames.Raw(A, B, EtherType.IPv4, 60);
        sw.Forward(a, f1);
        sw.Forward(b, f2);
        Assert.Equal(1, a.Counters.FramesIn);
        Assert.Equal(f1.Length, a.Counters.BytesIn);
        Assert.Equal(1, a.Counters.FramesOut);
        Assert.Equal(f2.Length, a.Counters.BytesOut);
        Assert.Equal(1, b.Counters.FramesIn);
        Assert.Equal(f2.Length, b.Counters.BytesIn);
        Assert.Equal(1, b.Counters.FramesOut);
        Assert.Equal(f1.Length, b.Counters.BytesOut);
        Assert.Equal(1, c.Counters.FramesOut);
        Assert.Equal(0, c.Counters.FramesIn);
        Assert.Equal(0, a.Counters.DroppedTotal + b.Counters.DroppedTotal + c.Counters.DroppedTotal);
    }

    [Fact]
    public void OversizeFrame_IsDroppedAndCounted()
    {
        var (sw, a, b, c) = Build(mtu: 1500);
        Assert.Equal(1518, sw.MaxFrameLength);
        sw.Forward(a, Frames.Raw(MacAddress.Broadcast, A, EtherType.IPv4, 1504)); // 1518 bytes: the limit
        Assert.Single(b.Frames);
        sw.Forward(a, Frames.Raw(MacAddress.Broadcast, A, EtherType.IPv4, 1505));
        Assert.Single(b.Frames);
        Assert.Single(c.Frames);
        Assert.Equal(1, a.Counters.Dropped(DropReason.Oversize));
        Assert.Equal(2, a.Counters.FramesIn);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(13)]
    public void ShortFrame_IsCountedMalformed(int length)
    {
        var (sw, a, b, c) = Build();
        sw.Forward(a, new byte[length]);
        Assert.Empty(b.Frames);
        Assert.Empty(c.Frames);
        Assert.Equal(1, a.Counters.Dropped(DropReason.Malformed));
        Assert.Equal("malformed", DropReasonNames.Of(DropReason.Malformed));
        Assert.Equal(1, a.Counters.DropsByReason()["malformed"]);
    }

    [Fact]
    public void RemovePort_ForgetsItsMacs()
    {
        var (sw, a, b, c) = Build();
        sw.Forward(b, Frames.Raw(A, B, EtherType.IPv4));
        sw.RemovePort(b);
        Assert.DoesNotContain(b, sw.Ports);
        var d = new CapturePort("d");
        sw.AddPort(d);
        b.Clear(); c.Clear();
        sw.Forward(a, Frames.Raw(B, A, EtherType.IPv4)); // B is unknown again: flooded to the ports still there
        Assert.Single(c.Frames);
        Assert.Single(d.Frames);
        Assert.Empty(b.Frames);
    }

    [Fact]
    public void MacMove_RelearnsOnNewPort()
    {
        var (sw, a, b, c) = Build();
        sw.Forward(b, Frames.Raw(A, C, EtherType.IPv4)); // C seen on b
        sw.Forward(c, Frames.Raw(A, C, EtherType.IPv4)); // C moved to c
        b.Clear(); c.Clear();
        sw.Forward(a, Frames.Raw(C, A, EtherType.IPv4));
        Assert.Empty(b.Frames);
        Assert.Single(c.Frames);
    }

    [Fact]
    public void TransmitFailure_IsCountedOnEgress()
    {
        var (sw, a, b, c) = Build();
        b.Accept = false;
        sw.Forward(a, Frames.Raw(MacAddress.Broadcast, A, EtherType.IPv4));
        Assert.Equal(1, b.Counters.Dropped(DropReason.TransmitFailed));
        Assert.Equal(0, b.Counters.FramesOut);
        Assert.Equal(1, c.Counters.FramesOut);
        Assert.Equal(0, c.Counters.Dropped(DropReason.TransmitFailed));
    }

    [Fact]
    public void GuardedPort_SpoofedFrameIsDroppedNotForwarded()
    {
        var sw = new EthernetSwitch(1500);
        var a = new CapturePort("a") { Guard = new PortGuard(A, Ipv4Address.Parse("10.0.0.2")) };
        var b = new CapturePort("b");
        sw.AddPort(a); sw.AddPort(b);
        sw.Forward(a, Frames.Raw(MacAddress.Broadcast, C, 0x88CC));
        Assert.Empty(b.Frames);
        Assert.Equal(1, a.Counters.Dropped(DropReason.SpoofedMac));
        // A spoofed source must not poison the MAC table either.
        sw.Forward(b, Frames.Raw(C, B, EtherType.IPv4));
        Assert.Single(a.Frames);
    }
}
