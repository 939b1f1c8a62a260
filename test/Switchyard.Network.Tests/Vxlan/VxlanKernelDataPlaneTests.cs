using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;
using Switchyard.Testing;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>Our tunnel against the Linux kernel's vxlan device, data plane only: a namespace joined
/// to this one by a veth (the underlay) holds `vx0` (VNI 4242, remote = us, dstport 4789) with an
/// address; on our side a small responder behind the tunnel answers ARP and ICMP echo. The
/// kernel pings us (its broadcast ARP and unicast echoes decapsulated by us, our replies by it),
/// we ARP for it (our head-end replicated broadcast), and tcpdump decodes the underlay capture as
/// VXLAN with the right VNI both ways. The whole-network interop (DHCP, DNS, NAT through our
/// gateway) is Switchyard.IntegrationTests' VxlanKernelInteropTests.</summary>
public sealed class VxlanKernelDataPlaneTests
{
    private const uint Vni = 4242;
    private static readonly MacAddress OurMac = MacAddress.Parse("02:53:79:00:00:01");
    private static readonly Ipv4Address OurIp = Ipv4Address.Parse("192.168.242.1");
    private static readonly Ipv4Address KernelIp = Ipv4Address.Parse("192.168.242.2");

    [LinuxRootFact]
    public void The_kernel_vxlan_device_and_our_tunnel_exchange_frames_both_ways()
    {
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        string hostIf = $"syvx{id}";
        int octet = RandomNumberGenerator.GetInt32(0, 64) * 4;
        string underlay = $"10.241.{RandomNumberGenerator.GetInt32(0, 256)}.";
        string ourUnderlay = underlay + (octet + 1), kernelUnderlay = underlay + (octet + 2);
        string scratch = Directory.CreateTempSubdirectory("sy-vxk-").FullName;
        string pcap = Path.Combine(scratch, "underlay.pcap");
        using var ns = TestNamespace.Create("sy-vxk");
        ChildProcess? tcpdump = null;
        try
        {
            Command.Run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "ul0", "netns", ns.Name]);
            Command.Run("ip", ["addr", "add", ourUnderlay + "/30", "dev", hostIf]);
            Command.Run("ip", ["link", "set", hostIf, "up"]);
            ns.Ip("link", "set", "lo", "up");
            ns.Ip("addr", "add", kernelUnderlay + "/30", "dev", "ul0");
            ns.Ip("link", "set", "ul0", "up");
            ns.Ip("link", "add", "vx0", "type", "vxlan", "id", Vni.ToString(), "remote", ourUnderlay, "local", kernelUnderlay, "dstport", "4789");
            ns.Ip("addr", "add", KernelIp + "/24", "dev", "vx0");
            ns.Ip("link", "set", "vx0", "up");
            tcpdump = ns.StartServer("tcpdump", "-i", "ul0", "--immediate-mode", "-U", "-n", "-w", pcap, "udp", "port", "4789");
            Eventually.Until(() => tcpdump.Output.Contains("listening on"), TimeSpan.FromSeconds(10), () => "tcpdump started");

            using var tunnel = VxlanTunnel.Open(new VxlanSettings(Vni, new IPEndPoint(IPAddress.Parse(ourUnderlay), VxlanSettings.DefaultPort),
                [new IPEndPoint(IPAddress.Parse(kernelUnderlay), VxlanSettings.DefaultPort)]), 1450, NullLogger.Instance);
            var arpReplies = new System.Collections.Concurrent.ConcurrentQueue<MacAddress>();
            tunnel.Start((frame, in _) => Respond(tunnel, frame, arpReplies));

            var ping = ns.Exec("ping", "-c", "3", "-i", "0.2", "-w", "10", OurIp.ToString());   // -w: until 3 replies (or 10 s), so a loaded machine does not lose one
            Assert.True(ping.StdOut.Contains("3 received"), $"{ping.StdOut} {ping.StdErr} counters {tunnel.Counters}");

            var counters = tunnel.Counters;
            Assert.True(counters.DatagramsIn >= 4, $"ARP request and 3 echo requests, got {counters.DatagramsIn}");
            Assert.Equal(0, counters.DroppedNotAPeer + counters.DroppedWrongVni + counters.DroppedMalformed + counters.DroppedBadFlags + counters.DroppedTooBig);
            Assert.Equal(1, counters.LearntMacs);
            // Every reply went to the VTEP vx0's MAC was learnt behind: nothing was replicated.
            Assert.Equal(0, counters.Replicated);

            // Our broadcast the other way: an ARP request for the kernel's address, answered by vx0.
            var request = new byte[42];
            MacAddress.Broadcast.Write(request);
            OurMac.Write(request.AsSpan(6));
            request[12] = 0x08; request[13] = 0x06;
            ArpPacket.Write(request.AsSpan(14), ArpPacket.OpRequest, OurMac, OurIp, MacAddress.Zero, KernelIp);
            Assert.True(tunnel.TrySend(request, VirtioNetHeader.None));
            Eventually.Until(() => !arpReplies.IsEmpty, TimeSpan.FromSeconds(5), () => "vx0 answered our ARP request");
            Assert.Equal(1, tunnel.Counters.Replicated);

            // SIGINT (by its PID): tcpdump writes out what it holds and says how much it captured.
            Command.Run("kill", ["-INT", tcpdump.Pid.ToString()]);
            Eventually.Until(() => tcpdump.HasExited, TimeSpan.FromSeconds(10), () => "tcpdump exited on SIGINT: " + tcpdump.Output);
            var decoded = Command.Run("tcpdump", ["-r", pcap, "-n"]);
            var lines = decoded.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 8, $"tcpdump read {lines.Length} packets from {new FileInfo(pcap).Length} bytes: {decoded.StdErr}");
            // "IP 10.241.x.2.40123 > 10.241.x.1.4789: VXLAN, flags [I] (0x08), vni 4242"
            Assert.Contains(lines, l => l.Contains($"IP {kernelUnderlay}.") && l.Contains($"> {ourUnderlay}.4789: VXLAN, flags [I] (0x08), vni {Vni}"));
            Assert.Contains(lines, l => l.Contains($"IP {ourUnderlay}.4789 > {kernelUnderlay}.4789: VXLAN, flags [I] (0x08), vni {Vni}"));
            Assert.All(lines.Where(l => l.Contains("VXLAN")), l => Assert.Contains($"vni {Vni}", l));
            Assert.Contains(lines, l => l.Contains($"ICMP echo reply") && l.Contains($"{OurIp} > {KernelIp}"));
        }
        finally
        {
            tcpdump?.Dispose();
            Command.Run("ip", ["link", "del", hostIf], check: false);
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>A host at <see cref="OurIp"/> behind the tunnel: answers ARP requests for it and ICMP
    /// echo requests to it, notes ARP replies. Runs on the tunnel's receive loop.</summary>
    private static void Respond(VxlanTunnel tunnel, ReadOnlySpan<byte> frame, System.Collections.Concurrent.ConcurrentQueue<MacAddress> arpReplies)
    {
        if (!EthernetFrame.TryParse(frame, out var eth)) return;
        if (eth.EtherType == EtherType.Arp && ArpPacket.TryParse(eth.Payload, out var arp))
        {
            if (arp.Operation == ArpPacket.OpReply && arp.SenderIp == KernelIp) arpReplies.Enqueue(arp.SenderMac);
            if (arp.Operation != ArpPacket.OpRequest || arp.TargetIp != OurIp) return;
            Span<byte> reply = stackalloc byte[42];
            arp.SenderMac.Write(reply);
            OurMac.Write(reply[6..]);
            reply[12] = 0x08; reply[13] = 0x06;
            ArpPacket.Write(reply[14..], ArpPacket.OpReply, OurMac, OurIp, arp.SenderMac, arp.SenderIp);
            tunnel.TrySend(reply, VirtioNetHeader.None);
            return;
        }
        if (eth.EtherType != EtherType.IPv4 || !Ipv4Packet.TryParse(eth.Payload, out var ip) || ip.Protocol != IpProtocol.Icmp || ip.Destination != OurIp) return;
        var icmp = ip.Payload;
        if (icmp.Length < 8 || icmp[0] != 8) return;   // echo request (RFC 792)
        var echo = new byte[EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength + icmp.Length];
        var body = echo.AsSpan(EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength);
        icmp.CopyTo(body);
        body[0] = 0;   // echo reply, same identifier, sequence and data
        body[2] = body[3] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(body[2..], Checksum.Compute(body));
        EthernetFrameWriter.FinishIpv4(echo, eth.Source, OurMac, OurIp, ip.Source, IpProtocol.Icmp, icmp.Length);
        tunnel.TrySend(echo, VirtioNetHeader.None);
    }
}
