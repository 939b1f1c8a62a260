using Switchyard.Network.Dhcp;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Dhcp;

public sealed class DhcpRangeTests
{
    [Theory]
    [InlineData("10.0.0.0/24", "10.0.0.128", "10.0.0.254")]
    [InlineData("10.8.0.0/16", "10.8.128.0", "10.8.255.254")]
    [InlineData("192.168.1.0/29", "192.168.1.4", "192.168.1.6")]
    [InlineData("192.168.1.0/30", "192.168.1.2", "192.168.1.2")]
    public void The_default_is_the_upper_half_of_the_subnet(string subnet, string first, string last)
    {
        var range = DhcpRange.UpperHalf(Ipv4Subnet.Parse(subnet));
        Assert.Equal(new DhcpRange(Ipv4Address.Parse(first), Ipv4Address.Parse(last)), range);
    }

    [Theory]
    [InlineData("10.0.0.100-10.0.0.150", null)]
    [InlineData(" 10.0.0.100 - 10.0.0.100 ", null)]
    [InlineData("10.0.0.100", "is not FIRST-LAST")]
    [InlineData("10.0.0.150-10.0.0.100", "comes before")]
    [InlineData("10.0.0.100-10.0.1.5", "not inside the network's subnet")]
    [InlineData("10.0.0.0-10.0.0.10", "network or broadcast")]
    [InlineData("10.0.0.200-10.0.0.255", "network or broadcast")]
    [InlineData("10.0.0.1-10.0.0.10", "gateway's address")]
    [InlineData("x-y", "is not FIRST-LAST")]
    public void Parse_checks_the_range_against_the_subnet(string text, string? error)
    {
        bool ok = DhcpRange.TryParse(text, Ipv4Subnet.Parse("10.0.0.0/24"), out var range, out var why);
        if (error is null)
        {
            Assert.True(ok, why);
            Assert.True(range.Contains(Ipv4Address.Parse("10.0.0.100")));
        }
        else
        {
            Assert.False(ok);
            Assert.Contains(error, why);
        }
    }
}
