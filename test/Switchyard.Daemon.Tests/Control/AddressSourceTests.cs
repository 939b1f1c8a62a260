using System.Security.Cryptography;
using System.Text;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Packets;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>Where the daemon's MACs come from now that it no longer loads OpenSSL for them (issue 15):
/// a network's gateway MAC is what it was (the same SHA-256 of its name), an endpoint's random MAC
/// is unicast, locally administered and random.</summary>
public sealed class AddressSourceTests
{
    [Theory]
    [InlineData("default")]
    [InlineData("lab")]
    [InlineData("ünïcode-net")]
    public void A_gateway_keeps_the_mac_it_had(string network) =>
        Assert.Equal(MacAddress.LocallyAdministered(SHA256.HashData(Encoding.UTF8.GetBytes("switchyard-gateway:" + network))),
            NetworkPlanner.GatewayMacFor(network));

    [Fact]
    public void Random_macs_are_unicast_locally_administered_and_distinct()
    {
        var seen = new HashSet<MacAddress>();
        var bytes = new byte[6];
        for (int i = 0; i < 2000; i++)
        {
            var mac = EndpointLifecycle.RandomMac();
            mac.Write(bytes);
            Assert.Equal(0x02, bytes[0] & 0x03);   // the U/L bit set (locally administered), the I/G bit clear (unicast)
            Assert.True(seen.Add(mac), $"{mac} drawn twice");
        }
        // 46 random bits each: every bit position varies across the draws (none is stuck, as a version nibble would be).
        var or = new byte[6];
        var and = Enumerable.Repeat((byte)0xFF, 6).ToArray();
        foreach (var mac in seen)
        {
            mac.Write(bytes);
            for (int b = 0; b < 6; b++) { or[b] |= bytes[b]; and[b] &= bytes[b]; }
        }
        Assert.Equal([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], or);
        Assert.Equal([0x02, 0, 0, 0, 0, 0], and);
    }
}
