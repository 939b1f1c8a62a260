using System.Net;
using System.Runtime.Versioning;
using Switchyard.Testing;

namespace Switchyard.Platform.Tests;

public sealed class HostRoutesTests
{
    [Fact]
    public void Parse_ConvertsLittleEndianHexAndSkipsDefault()
    {
        const string text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
            "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
            "eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
            "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

        var routes = HostRoutes.ParseProcNetRoute(text);

        if (!BitConverter.IsLittleEndian)
        {
            return; // the fixture is little-endian /proc output
        }
        Assert.Equal([(0xC0A80000u, 24, "eth0"), (0xAC110000u, 16, "docker0")], routes);
    }

    [Fact]
    public void ParseIpv6_KeepsUnicastPrefixesAndSkipsDefaultLinkLocalMulticastAndLoopback()
    {
        const string text =
            "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n" +
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n" +
            "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n" +
            "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n" +
            "ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n" +
            "fd0002500001000000000000000000ab 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     eth1\n" +
            "garbage\n";
        var routes = HostRoutes.ParseProcNetIpv6Route(text);
        Assert.Equal(2, routes.Count);
        Assert.Equal(IPAddress.Parse("fd00::"), new IPAddress(routes[0].Network));
        Assert.Equal((64, "eth0"), (routes[0].PrefixLength, routes[0].Interface));
        Assert.Equal(IPAddress.Parse("fd00:250:1::ab"), new IPAddress(routes[1].Network));
        Assert.Equal((128, "eth1"), (routes[1].PrefixLength, routes[1].Interface));
    }

    [LinuxRootFact]
    [SupportedOSPlatform("linux")]
    public void ReadIpv4_MatchesIpRouteMainTable()
    {
        // Other test assemblies add and remove routes while this runs (CI runs them in parallel), so
        // compare only a reading that `ip route` brackets unchanged on both sides.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var before = ReadWithIpRoute();
            var actual = HostRoutes.ReadIpv4().Where(r => r.Interface != "*").Order().ToList();
            var after = ReadWithIpRoute();
            if (!before.SequenceEqual(after))
            {
                Thread.Sleep(100);
                continue;
            }

            Assert.NotEmpty(actual);
            Assert.Equal(before, actual);
            return;
        }
        Assert.Fail("the host's routing table kept changing for 20 readings");
    }

    private static List<(uint, int, string)> ReadWithIpRoute() =>
        Command.RunJson("ip", ["-j", "-4", "route", "show", "table", "main"]).EnumerateArray()
            .Where(r => r.GetProperty("dst").GetString() != "default" && r.TryGetProperty("dev", out _))
            .Select(r =>
            {
                var dst = r.GetProperty("dst").GetString()!;
                var network = IPNetwork.Parse(dst.Contains('/') ? dst : dst + "/32");
                var bytes = network.BaseAddress.GetAddressBytes();
                var value = (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
                return (value, network.PrefixLength, r.GetProperty("dev").GetString()!);
            })
            .Order()
            .ToList();
}
