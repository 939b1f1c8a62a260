using System.Net;

namespace Switchyard.Packets.Tests.Core;

public class AddressTests
{
    [Theory]
    [InlineData("02:00:00:00:00:01", 0x0200_0000_0001UL, "02:00:00:00:00:01")]
    [InlineData("52-54-00-AB-cd-EF", 0x5254_00AB_CDEFUL, "52:54:00:ab:cd:ef")]
    [InlineData("ff:ff:ff:ff:ff:ff", 0xFFFF_FFFF_FFFFUL, "ff:ff:ff:ff:ff:ff")]
    [InlineData("00:00:00:00:00:00", 0UL, "00:00:00:00:00:00")]
    public void Mac_ParsesAndFormats(string text, ulong value, string formatted)
    {
        Assert.True(MacAddress.TryParse(text, out var m));
        Assert.Equal(value, m.Value);
        Assert.Equal(formatted, m.ToString());
        Assert.Equal(formatted, $"{m}");
        Assert.Equal(m, MacAddress.Parse(formatted));
        var b = new byte[6];
        m.Write(b);
        Assert.Equal(m, MacAddress.Read(b));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("02:00:00:00:00")]
    [InlineData("02:00:00:00:00:01:")]
    [InlineData("02:00:00:00:00:1")]
    [InlineData("02.00.00.00.00.01")]
    [InlineData("02 00 00 00 00 01")]
    [InlineData("0200.0000.0001")]
    [InlineData("020000000001")]
    [InlineData("02:00-00:00:00:01")]      // mixed separators
    [InlineData("02-00-00-00-00:01")]
    [InlineData("02:00:00:00:00:0g")]
    [InlineData("+2:00:00:00:00:01")]
    [InlineData(" 2:00:00:00:00:01")]
    [InlineData("02:00:00:00:00:01 ")]
    [InlineData("0x:00:00:00:00:01")]
    public void Mac_RejectsBadInput(string? text)
    {
        Assert.False(MacAddress.TryParse(text, out _));
        if (text is not null) Assert.Throws<FormatException>(() => MacAddress.Parse(text));
    }

    [Fact]
    public void Mac_Bits()
    {
        Assert.True(MacAddress.Broadcast.IsBroadcast);
        Assert.True(MacAddress.Broadcast.IsMulticast);
        Assert.True(MacAddress.Parse("01:00:5e:00:00:fb").IsMulticast);
        Assert.False(MacAddress.Parse("02:00:5e:00:00:fb").IsMulticast);
        var m = MacAddress.LocallyAdministered([0xFF, 1, 2, 3, 4, 5, 6]);
        Assert.Equal("fe:01:02:03:04:05", m.ToString());
        Assert.False(m.IsMulticast);
        Span<char> small = stackalloc char[16];
        Assert.False(m.TryFormat(small, out _, default, null));
    }

    [Theory]
    [InlineData("0.0.0.0", 0u)]
    [InlineData("192.168.64.1", 0xC0A8_4001u)]
    [InlineData("255.255.255.255", 0xFFFF_FFFFu)]
    [InlineData("10.239.7.2", 0x0AEF_0702u)]
    [InlineData("10.0.100.0", 0x0A00_6400u)]
    public void Ipv4_ParsesAndFormats(string text, uint value)
    {
        Assert.True(Ipv4Address.TryParse(text, out var a));
        Assert.Equal(value, a.Value);
        Assert.Equal(text, a.ToString());
        Assert.Equal(IPAddress.Parse(text), a.ToIPAddress());
        Assert.Equal(a, Ipv4Address.FromIPAddress(IPAddress.Parse(text)));
        var b = new byte[4];
        a.Write(b);
        Assert.Equal(a, Ipv4Address.Read(b));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("1.2")]
    [InlineData("1.2.3")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1.2.3.256")]
    [InlineData("256.1.1.1")]
    [InlineData("1.2.3.-1")]
    [InlineData("a.b.c.d")]
    [InlineData("1.2.3.")]
    [InlineData(".1.2.3")]
    [InlineData("::1")]
    [InlineData("::ffff:1.2.3.4")]
    [InlineData("1.2.3.4/24")]
    [InlineData("0x7f.0.0.1")]             // inet_aton hex
    [InlineData("010.0.0.1")]              // inet_aton octal would read 8.0.0.1
    [InlineData("1.2.3.4 ")]
    [InlineData("1.2.3.04")]
    [InlineData("1.2.3.0004")]
    public void Ipv4_RejectsBadInput(string? text)
    {
        Assert.False(Ipv4Address.TryParse(text, out _));
        if (text is not null) Assert.Throws<FormatException>(() => Ipv4Address.Parse(text));
    }

    [Fact]
    public void Ipv4_Classification()
    {
        Assert.True(Ipv4Address.Any.IsAny);
        Assert.True(Ipv4Address.Broadcast.IsBroadcast);
        Assert.True(Ipv4Address.Parse("224.0.0.251").IsMulticast);
        Assert.True(Ipv4Address.Parse("239.255.255.250").IsMulticast);
        Assert.False(Ipv4Address.Parse("240.0.0.1").IsMulticast);
        Assert.True(Ipv4Address.Parse("127.0.0.53").IsLoopback);
        Assert.Equal(Ipv4Address.Parse("10.0.1.0"), Ipv4Address.Parse("10.0.0.255") + 1);
        Assert.True(Ipv4Address.Parse("10.0.0.2").CompareTo(Ipv4Address.Parse("9.255.255.255")) > 0);
        Assert.Throws<ArgumentException>(() => Ipv4Address.FromIPAddress(IPAddress.IPv6Loopback));
    }

    [Theory]
    [InlineData("192.168.64.0/24", "192.168.64.0", 24, "255.255.255.0", "192.168.64.255", "192.168.64.1", "192.168.64.254")]
    [InlineData("10.0.0.0/8", "10.0.0.0", 8, "255.0.0.0", "10.255.255.255", "10.0.0.1", "10.255.255.254")]
    [InlineData("0.0.0.0/0", "0.0.0.0", 0, "0.0.0.0", "255.255.255.255", "0.0.0.1", "255.255.255.254")]
    [InlineData("172.16.5.4/30", "172.16.5.4", 30, "255.255.255.252", "172.16.5.7", "172.16.5.5", "172.16.5.6")]
    public void Subnet_Parses(string text, string network, int prefix, string mask, string broadcast, string first, string last)
    {
        Assert.True(Ipv4Subnet.TryParse(text, out var s, out var error));
        Assert.Null(error);
        Assert.Equal(Ipv4Address.Parse(network), s.Network);
        Assert.Equal(prefix, s.PrefixLength);
        Assert.Equal(mask, s.MaskAddress.ToString());
        Assert.Equal(broadcast, s.BroadcastAddress.ToString());
        Assert.Equal(first, s.FirstHost.ToString());
        Assert.Equal(last, s.LastHost.ToString());
        Assert.Equal(text, s.ToString());
        Assert.Equal(s, Ipv4Subnet.Parse(text));
    }

    [Fact]
    public void Subnet_HostRoute()
    {
        var s = Ipv4Subnet.Parse("1.2.3.4/32");
        Assert.Equal(uint.MaxValue, s.Mask);
        Assert.Equal(s.Network, s.BroadcastAddress);
        Assert.True(s.Contains(Ipv4Address.Parse("1.2.3.4")));
    }

    [Theory]
    [InlineData(null, "not a CIDR prefix")]
    [InlineData("192.168.64.0", "not a CIDR prefix")]
    [InlineData("192.168.64.1/24", "host bits set (did you mean 192.168.64.0/24?)")]
    [InlineData("11.0.0.0/7", "host bits set (did you mean 10.0.0.0/7?)")]
    [InlineData("192.168.64.0/33", "prefix length must be 0..32")]
    [InlineData("192.168.64.0/-1", "prefix length must be 0..32")]
    [InlineData("192.168.64.0/", "prefix length must be 0..32")]
    [InlineData("192.168.64.0/x", "prefix length must be 0..32")]
    [InlineData("1.2.3/24", "is not an IPv4 address")]
    [InlineData("/24", "is not an IPv4 address")]
    public void Subnet_RejectsBadInput(string? text, string errorFragment)
    {
        Assert.False(Ipv4Subnet.TryParse(text, out _, out var error));
        Assert.NotNull(error);
        Assert.Contains(errorFragment, error);
        if (text is not null) Assert.Equal(error, Assert.Throws<FormatException>(() => Ipv4Subnet.Parse(text)).Message);
    }

    [Theory]
    [InlineData("192.168.64.0/24", "192.168.64.0/24", true)]
    [InlineData("192.168.64.0/24", "192.168.64.128/25", true)]
    [InlineData("192.168.64.128/25", "192.168.64.0/24", true)]
    [InlineData("192.168.64.0/25", "192.168.64.128/25", false)]
    [InlineData("10.0.0.0/8", "10.239.1.0/24", true)]
    [InlineData("10.0.0.0/8", "11.0.0.0/8", false)]
    [InlineData("0.0.0.0/0", "203.0.113.7/32", true)]
    [InlineData("203.0.113.7/32", "203.0.113.6/32", false)]
    [InlineData("172.16.0.0/12", "172.32.0.0/16", false)]
    public void Subnet_Overlaps_IsSymmetric(string a, string b, bool expected)
    {
        var x = Ipv4Subnet.Parse(a);
        var y = Ipv4Subnet.Parse(b);
        Assert.Equal(expected, x.Overlaps(y));
        Assert.Equal(expected, y.Overlaps(x));
    }

    [Theory]
    [InlineData("192.168.64.0/24", "192.168.64.0", true)]
    [InlineData("192.168.64.0/24", "192.168.64.255", true)]
    [InlineData("192.168.64.0/24", "192.168.65.0", false)]
    [InlineData("192.168.64.0/24", "192.168.63.255", false)]
    [InlineData("0.0.0.0/0", "255.255.255.255", true)]
    [InlineData("10.1.2.3/32", "10.1.2.3", true)]
    [InlineData("10.1.2.3/32", "10.1.2.4", false)]
    public void Subnet_Contains(string subnet, string address, bool expected) =>
        Assert.Equal(expected, Ipv4Subnet.Parse(subnet).Contains(Ipv4Address.Parse(address)));
}
