using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;
using Switchyard.Testing;

namespace Switchyard.Platform.Tests;

[SupportedOSPlatform("linux")]
public sealed class TapDeviceTests
{
    private static readonly byte[] TapMac = [0x02, 0x53, 0x59, 0x00, 0x00, 0x02];
    private static readonly byte[] GatewayMac = [0x02, 0x53, 0x59, 0x00, 0x00, 0x01];
    private const string TapName = "sytap0";

    private static (TapOptions Options, byte[] Address, byte[] Gateway) Options(TestNamespace ns, bool persistent = false, int mtu = 65520)
    {
        // A random third octet makes failures from leftover state obvious; namespaces isolate tests anyway.
        var x = (byte)RandomNumberGenerator.GetInt32(1, 255);
        byte[] address = [10, 238, x, 2];
        byte[] gateway = [10, 238, x, 1];
        return (new TapOptions(TapName, ns.Path, TapMac, mtu, persistent, new Ipv4Config(address, 24, gateway)), address, gateway);
    }

    private static string Ip(byte[] a) => string.Join('.', a);

    private static string Mac(byte[] m) => Convert.ToHexStringLower(m).Chunk(2).Select(c => new string(c)).Aggregate((a, b) => $"{a}:{b}");

    [LinuxRootFact]
    public void Create_ConfiguresNameMacMtuAddressRouteAndLoopback()
    {
        using var ns = TestNamespace.Create();
        var (options, address, gateway) = Options(ns);

        using var tap = TapDevice.Create(options);

        Assert.Equal(TapName, tap.Name);
        Assert.False(tap.Reattached);

        var link = ns.IpJson("link", "show", "dev", TapName)[0];
        Assert.Equal(TapName, link.GetProperty("ifname").GetString());
        Assert.Equal(Mac(TapMac), link.GetProperty("address").GetString());
        Assert.Equal(65520, link.GetProperty("mtu").GetInt32());
        Assert.Contains("UP", Flags(link));

        var lo = ns.IpJson("link", "show", "dev", "lo")[0];
        Assert.Contains("UP", Flags(lo));

        var inet = ns.IpJson("addr", "show", "dev", TapName)[0].GetProperty("addr_info").EnumerateArray()
            .Single(a => a.GetProperty("family").GetString() == "inet");
        Assert.Equal(Ip(address), inet.GetProperty("local").GetString());
        Assert.Equal(24, inet.GetProperty("prefixlen").GetInt32());

        var route = ns.IpJson("route", "show", "default").EnumerateArray().Single();
        Assert.Equal(Ip(gateway), route.GetProperty("gateway").GetString());
        Assert.Equal(TapName, route.GetProperty("dev").GetString());
    }

    [LinuxRootFact]
    public void Frames_ArpRequestIsReadAndWrittenReplyIsLearnt()
    {
        using var ns = TestNamespace.Create();
        var (options, address, gateway) = Options(ns);
        using var tap = TapDevice.Create(options);

        // The kernel has to resolve the gateway before it can send the echo request: an ARP request appears on the TAP.
        using var ping = ns.StartExec("ping", "-c1", "-W2", Ip(gateway));
        try
        {
            var request = WaitForFrame(tap, f => EtherType(f) == 0x0806 && ArpOp(f) == 1, TimeSpan.FromSeconds(3));
            Assert.Equal(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, request[0..6]);
            Assert.Equal(TapMac, request[6..12]);
            Assert.Equal(TapMac, request[22..28]);   // sender hardware address
            Assert.Equal(address, request[28..32]);  // sender protocol address
            Assert.Equal(gateway, request[38..42]);  // target protocol address

            Assert.True(tap.Write(BuildArpReply(GatewayMac, gateway, TapMac, address)));

            // With the neighbour resolved, the queued ICMP echo request follows, addressed to our "gateway" MAC.
            var echo = WaitForFrame(tap, f => EtherType(f) == 0x0800 && f[23] == 1, TimeSpan.FromSeconds(3));
            Assert.Equal(GatewayMac, echo[0..6]);

            var neigh = ns.IpJson("neigh", "show", "dev", TapName).EnumerateArray()
                .Single(n => n.GetProperty("dst").GetString() == Ip(gateway));
            Assert.Equal(Mac(GatewayMac), neigh.GetProperty("lladdr").GetString());
        }
        finally
        {
            if (!ping.HasExited)
            {
                ping.Kill(entireProcessTree: true);
            }
            ping.WaitForExit();
        }
    }

    [LinuxRootFact]
    public void Persistent_SurvivesDispose_ReattachKeepsAddress_ThenNonPersistentDisposeRemovesIt()
    {
        using var ns = TestNamespace.Create();
        var (options, address, gateway) = Options(ns, persistent: true);

        TapDevice.Create(options).Dispose();
        Assert.Single(ns.IpJson("link", "show", "dev", TapName).EnumerateArray());

        using (var again = TapDevice.Create(options))
        {
            Assert.True(again.Reattached);
            var inet = ns.IpJson("addr", "show", "dev", TapName)[0].GetProperty("addr_info").EnumerateArray()
                .Where(a => a.GetProperty("family").GetString() == "inet").ToList();
            Assert.Equal(Ip(address), Assert.Single(inet).GetProperty("local").GetString());
            Assert.Equal(Ip(gateway), ns.IpJson("route", "show", "default")[0].GetProperty("gateway").GetString());

            again.SetPersistent(false);
        }

        var gone = Command.Run("ip", ["-n", ns.Name, "link", "show", "dev", TapName], check: false);
        Assert.NotEqual(0, gone.ExitCode);
    }

    [LinuxRootFact]
    public void NonPersistent_DisposeRemovesDevice()
    {
        using var ns = TestNamespace.Create();
        TapDevice.Create(Options(ns).Options).Dispose();
        Assert.NotEqual(0, Command.Run("ip", ["-n", ns.Name, "link", "show", "dev", TapName], check: false).ExitCode);
    }

    [LinuxRootFact]
    public void MissingNamespace_ThrowsPlatformExceptionNamingThePath()
    {
        var path = $"/run/netns/sy-test-missing-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        var ex = Assert.Throws<PlatformException>(() => TapDevice.Create(new TapOptions(TapName, path, TapMac, 1500)));
        Assert.Contains(path, ex.Message);
        Assert.True(ex.Errno == 2, ex.Message); // ENOENT
    }

    [Fact]
    public void TooLongInterfaceName_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => TapDevice.Create(new TapOptions("sixteen-chars-xx", null, TapMac, 1500)));
    }

    [Fact]
    public void MtuAboveTapMaximum_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TapDevice.Create(new TapOptions(TapName, null, TapMac, TapDevice.MaxMtu + 1)));
    }

    [LinuxRootFact]
    public void MaximumMtu_IsAcceptedByTheKernel()
    {
        using var ns = TestNamespace.Create();
        using var tap = TapDevice.Create(new TapOptions(TapName, ns.Path, TapMac, TapDevice.MaxMtu));
        Assert.Equal(TapDevice.MaxMtu, ns.IpJson("link", "show", "dev", TapName)[0].GetProperty("mtu").GetInt32());
    }

    [LinuxRootFact]
    public void Wake_UnblocksWaitReadableWithin100ms()
    {
        using var ns = TestNamespace.Create();
        using var tap = TapDevice.Create(Options(ns).Options);

        var returnedAt = 0L;
        var buffer = new byte[70_000];
        var reader = new Thread(() =>
        {
            // IPv6 DAD/MLD/RS frames may show up first: drain them and keep waiting, like a real reader loop.
            while (tap.WaitReadable(30_000))
            {
                while (tap.Read(buffer) > 0)
                {
                }
            }
            Volatile.Write(ref returnedAt, Stopwatch.GetTimestamp());
        });
        reader.Start();
        Thread.Sleep(200);

        var wokenAt = Stopwatch.GetTimestamp();
        tap.Wake();
        Assert.True(reader.Join(TimeSpan.FromSeconds(40)));

        // Woken, not timed out: well under the 30 s wait. Typically well under 100 ms; the bound allows for the
        // reader thread waiting for a core on a loaded machine.
        var took = Stopwatch.GetElapsedTime(wokenAt, Volatile.Read(ref returnedAt));
        Assert.True(took < Bounds.AtOnce, $"the reader returned {took.TotalMilliseconds:F0} ms after Wake");
    }

    [LinuxRootFact]
    public void DeletedDevice_WaitReadableReportsIt_AndReadReturnsMinusOne()
    {
        using var ns = TestNamespace.Create();
        using var tap = TapDevice.Create(Options(ns).Options);

        ns.Ip("link", "del", TapName);

        Assert.True(tap.WaitReadable(1_000));
        Assert.Equal(-1, tap.Read(new byte[2048]));
    }

    private static byte[] WaitForFrame(TapDevice tap, Func<byte[], bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var buffer = new byte[70_000];
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (!tap.WaitReadable(100))
            {
                continue;
            }
            int n;
            while ((n = tap.Read(buffer)) > 0)
            {
                var frame = buffer[..n];
                if (match(frame))
                {
                    return frame;
                }
            }
            Assert.NotEqual(-1, n);
        }
        throw new TimeoutException("no matching frame arrived on the TAP device");
    }

    private static int EtherType(byte[] f) => f.Length >= 14 ? BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) : -1;

    private static int ArpOp(byte[] f) => f.Length >= 22 ? BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(20)) : -1;

    private static byte[] BuildArpReply(byte[] senderMac, byte[] senderIp, byte[] targetMac, byte[] targetIp)
    {
        var f = new byte[42];
        targetMac.CopyTo(f, 0);                                         // Ethernet destination
        senderMac.CopyTo(f, 6);                                         // Ethernet source
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);    // EtherType ARP
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);         // HTYPE Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 0x0800);    // PTYPE IPv4
        f[18] = 6;                                                      // HLEN
        f[19] = 4;                                                      // PLEN
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 2);         // OPER reply
        senderMac.CopyTo(f, 22);
        senderIp.CopyTo(f, 28);
        targetMac.CopyTo(f, 32);
        targetIp.CopyTo(f, 38);
        return f;
    }

    private static List<string?> Flags(JsonElement link) =>
        link.GetProperty("flags").EnumerateArray().Select(e => e.GetString()).ToList();
}
