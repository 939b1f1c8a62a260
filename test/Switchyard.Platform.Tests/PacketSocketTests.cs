using System.Buffers.Binary;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Switchyard.Testing;

namespace Switchyard.Platform.Tests;

public sealed class PacketSocketTests
{
    private const ushort TestEtherType = 0x88B5;   // IEEE 802 local experimental: nothing else sends it
    private const ulong Guest = 0x02_5a_00_00_00_01, Other = 0x02_5a_00_00_00_02, Lan = 0x02_5a_00_00_00_03;

    [Fact]
    public void Default_route_interface_is_the_up_default_with_the_lowest_metric()
    {
        const string text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
            "wlan0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
            "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
            "down0\t00000000\t0102A8C0\t0002\t0\t0\t1\t00000000\t0\t0\t0\n" +
            "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        Assert.Equal("eth0", HostRoutes.ParseDefaultInterface(text));
        Assert.Null(HostRoutes.ParseDefaultInterface(text.Split('\n')[0] + "\n"));
    }

    /// <summary>Frames sent from one end of a veth pair reach a packet socket on the other end only
    /// when they are for a guest (or broadcast), never when they come from a guest's MAC; the filter
    /// follows <see cref="PacketSocket.SetGuests"/>.</summary>
    [LinuxRootFact]
    [SupportedOSPlatform("linux")]
    public void The_filter_takes_frames_for_the_guests_and_broadcast_and_none_from_them()
    {
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        string a = $"sypa{id}", b = $"sypb{id}";
        Command.Run("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
        try
        {
            Command.Run("ip", ["link", "set", a, "up"]);
            Command.Run("ip", ["link", "set", b, "up"]);
            using var uplink = PacketSocket.Open(a, vnetHeader: false);
            using var lan = PacketSocket.Open(b, vnetHeader: false);
            uplink.SetGuests([Guest]);
            lan.SetGuests([Lan]);

            Send(lan, Guest, Lan, 1);
            Send(lan, Other, Lan, 2);
            Send(lan, 0xFFFF_FFFF_FFFF, Lan, 3);
            Send(lan, 0xFFFF_FFFF_FFFF, Guest, 4);   // a guest's own MAC coming back from the LAN
            Assert.Equal([1, 3], ReceivedBefore(uplink, lan, Guest, Lan));

            uplink.SetGuests([Other]);
            Send(lan, Guest, Lan, 5);
            Send(lan, Other, Lan, 6);
            Assert.Equal([6], ReceivedBefore(uplink, lan, Other, Lan));

            // A socket's own frames never come back to it.
            Send(uplink, Lan, Other, 7);
            Assert.Empty(ReceivedBefore(uplink, lan, Other, Lan));
            Assert.Equal([7], ReceivedBefore(lan, uplink, Lan, Other));
        }
        finally
        {
            Command.Run("ip", ["link", "del", a], check: false);
        }
    }

    [SupportedOSPlatform("linux")]
    private static void Send(PacketSocket socket, ulong destination, ulong source, byte marker)
    {
        var frame = new byte[60];
        WriteMac(frame, destination);
        WriteMac(frame.AsSpan(6), source);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), TestEtherType);
        frame[14] = marker;
        Assert.True(socket.Write([], frame));
    }

    private static void WriteMac(Span<byte> d, ulong mac)
    {
        for (int i = 0; i < 6; i++) d[i] = (byte)(mac >> (40 - 8 * i));
    }

    private const byte EndMarker = 0xEE;

    /// <summary>The markers of the test's frames that <paramref name="socket"/> received, up to an end marker sent
    /// now from <paramref name="sender"/> (to <paramref name="destination"/> from <paramref name="source"/>, which the
    /// filter must let through). A veth pair keeps order, so every frame sent before the end marker has arrived or
    /// been filtered out when it shows: no fixed wait, which a loaded machine could outlast. Other traffic on the
    /// link is ignored.</summary>
    [SupportedOSPlatform("linux")]
    private static List<int> ReceivedBefore(PacketSocket socket, PacketSocket sender, ulong destination, ulong source)
    {
        Send(sender, destination, source, EndMarker);
        var markers = new List<int>();
        var buffer = new byte[2048];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            int n = socket.Read(buffer);
            if (n <= 0)
            {
                Assert.True(clock.Elapsed < Bounds.Generous, $"no end marker after {clock.Elapsed}; received {string.Join(",", markers)}");
                Thread.Sleep(10);
                continue;
            }
            if (n <= 14 || BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(12)) != TestEtherType) continue;
            if (buffer[14] == EndMarker) return markers;
            markers.Add(buffer[14]);
        }
    }
}
