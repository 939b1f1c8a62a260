using System.Security.Cryptography;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// Issue 14's interop test: one network across "hosts", the other host being the Linux kernel.
/// A namespace ("kernel host") joined to this one by a veth underlay holds a kernel `vxlan` device
/// (VNI 4242, remote = our tunnel, dstport 4789) bridged to a guest namespace. Our daemon's nat
/// network has the tunnel (`--vxlan 4242 --vxlan-local US:4789 --vxlan-peer KERNEL:4789`) and a TAP
/// guest "alpha". The kernel's guest leases from our gateway, pings alpha by name, fetches a page
/// from an outside namespace through our NAT; alpha pings it back; tcpdump on the underlay decodes
/// the datagrams as VXLAN with the right VNI both ways; nothing was dropped.
/// </summary>
public sealed class VxlanKernelInteropTests
{
    private const int Vni = 4242;

    [LinuxRootFact]
    public async Task A_guest_behind_the_kernel_vxlan_device_is_a_guest_of_our_network()
    {
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        string hostIf = $"syvi{id}";
        string underlay = $"10.241.{RandomNumberGenerator.GetInt32(0, 256)}.";
        int octet = RandomNumberGenerator.GetInt32(0, 64) * 4;
        string ours = underlay + (octet + 1), kernel = underlay + (octet + 2);
        string scratch = Directory.CreateTempSubdirectory("sy-vxi-").FullName;
        string pcap = Path.Combine(scratch, "underlay.pcap");
        using var outside = OutsideWorld.Start();
        using var host = TestNamespace.Create("sy-vxh");
        using var remote = TestNamespace.Create("sy-vxg");
        ChildProcess? tcpdump = null;
        try
        {
            // The underlay, and the kernel host: vx0 and the guest's veth on one bridge.
            Command.Run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "ul0", "netns", host.Name]);
            Command.Run("ip", ["addr", "add", ours + "/30", "dev", hostIf]);
            Command.Run("ip", ["link", "set", hostIf, "up"]);
            host.Ip("link", "set", "lo", "up");
            host.Ip("addr", "add", kernel + "/30", "dev", "ul0");
            host.Ip("link", "set", "ul0", "up");
            host.Ip("link", "add", "vx0", "type", "vxlan", "id", Vni.ToString(), "remote", ours, "local", kernel, "dstport", "4789");
            host.Ip("link", "add", "br0", "type", "bridge");
            host.Ip("link", "set", "vx0", "master", "br0");
            host.Ip("link", "add", "gv0", "type", "veth", "peer", "name", "eth0", "netns", remote.Name);
            host.Ip("link", "set", "gv0", "master", "br0");
            foreach (var link in new[] { "vx0", "gv0", "br0" }) host.Ip("link", "set", link, "up");
            remote.Ip("link", "set", "lo", "up");
            remote.Ip("link", "set", "eth0", "mtu", "1450", "up");   // vx0's: the underlay's 1500 minus 50
            // Over veths the kernel never finishes a checksum it left to "hardware" (CHECKSUM_PARTIAL): the
            // guest's UDP and TCP would cross vx0 and the underlay with only the pseudo-header sum, and our
            // gateway rightly drops them as malformed (a real NIC computes it, inner too). Filled in here.
            remote.Exec("iptables", "-t", "mangle", "-A", "POSTROUTING", "-j", "CHECKSUM", "--checksum-fill");
            tcpdump = host.StartServer("tcpdump", "-i", "ul0", "--immediate-mode", "-U", "-n", "-w", pcap, "udp", "port", "4789");
            Eventually.Until(() => tcpdump.Output.Contains("listening on"), TimeSpan.FromSeconds(10), () => "tcpdump started: " + tcpdump.Output);

            await using var daemon = await TestDaemon.StartAsync();
            var net = await daemon.CreateNetworkAsync(["none"], prefix: "vxk", customize: r => r with
            {
                Mode = "nat",
                Vxlan = new VxlanSpec { Vni = Vni, Local = ours + ":4789", Peers = [kernel + ":4789"] },
            });
            Assert.Equal(1450, net.Mtu);   // no --mtu: the underlay route's MTU minus 50
            using var alpha = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
            var alphaLease = alpha.Dhcp();

            var lease = Udhcpc.Run(remote.Name, "eth0", scratch, hostName: "Kernel_Guest");
            string remoteIp = lease["ip"];
            Assert.Equal(net.Gateway, lease["router"]);
            Assert.NotEqual(alphaLease["ip"], remoteIp);

            Assert.Contains(" 2 received", remote.Exec("ping", "-c", "2", "-i", "0.2", "-w", "10", "alpha").StdOut);
            var page = Command.Run("ip", ["netns", "exec", remote.Name, "curl", "-sS", "--fail", "--connect-timeout", "10", "--max-time", "20", outside.Url()], timeoutMs: 30_000);
            Assert.Equal(outside.IndexPage, page.StdOut);
            Assert.True(alpha.Ping(remoteIp), "alpha -> the kernel's guest");
            // And by the name its DHCP host name gave it (option 12, made a DNS label), a lease of the gateway's dynamic pool.
            Assert.Equal(remoteIp, alpha.Dig("+short", "kernel-guest." + net.Domain, "@" + net.Gateway));
            Assert.True(alpha.Ping("kernel-guest"), "alpha -> the kernel's guest by name");
            var pooled = Assert.Single(await daemon.Client.ListLeasesAsync(net.Name), l => l.Remote);
            Assert.Equal(("kernel-guest", remoteIp, "bound"), (pooled.HostName, pooled.Ipv4, pooled.State));

            var info = (await daemon.Client.GetNetworkAsync(net.Name)).Vxlan;
            Assert.NotNull(info);
            Assert.Equal("up", info.State);
            var counters = info.Counters!;
            Assert.True(counters.DatagramsIn > 0 && counters.DatagramsOut > 0);
            Assert.All(counters.Dropped, d => Assert.True(d.Value == 0, $"dropped {d.Value} as {d.Key}"));
            Assert.True(counters.LearntMacs >= 1);
            Assert.True(counters.SentPerPeer[kernel + ":4789"] > 0);

            // Anti-spoofing at the gateway host: from an address it holds no lease for, the kernel's guest reaches nobody.
            string spoofed = net.Subnet.Split('/')[0][..^1] + "250";
            remote.Ip("addr", "add", spoofed + "/32", "dev", "eth0");
            Assert.False(Command.Run("ip", ["netns", "exec", remote.Name, "ping", "-c", "2", "-W", "1", "-I", spoofed, alphaLease["ip"]], check: false).ExitCode == 0,
                "a ping from an address the gateway never leased got an answer");
            var guard = (await daemon.Client.GetNetworkAsync(net.Name)).Vxlan!.GuardDropped!;
            Assert.True(guard["spoofed-ip"] >= 2, $"spoofed-ip drops: {guard["spoofed-ip"]}");

            // SIGINT (by its PID): tcpdump writes out what it holds.
            Command.Run("kill", ["-INT", tcpdump.Pid.ToString()]);
            Eventually.Until(() => tcpdump.HasExited, TimeSpan.FromSeconds(10), () => "tcpdump exited: " + tcpdump.Output);
            var lines = Command.Run("tcpdump", ["-r", pcap, "-n"]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            // e.g. "IP 10.241.7.2.45678 > 10.241.7.1.4789: VXLAN, flags [I] (0x08), vni 4242" then the inner frame.
            Assert.Contains(lines, l => l.Contains($"IP {kernel}.") && l.Contains($"> {ours}.4789: VXLAN, flags [I] (0x08), vni {Vni}"));
            Assert.Contains(lines, l => l.Contains($"IP {ours}.4789 > {kernel}.4789: VXLAN, flags [I] (0x08), vni {Vni}"));
            Assert.All(lines.Where(l => l.Contains("VXLAN")), l => Assert.Contains($"vni {Vni}", l));
            Assert.Contains(lines, l => l.Contains("BOOTP/DHCP"));
            Assert.Contains(lines, l => l.Contains($"{remoteIp} > {alphaLease["ip"]}: ICMP echo request"));
        }
        finally
        {
            tcpdump?.Dispose();
            Command.Run("ip", ["link", "del", hostIf], check: false);
            Directory.Delete(scratch, recursive: true);
        }
    }
}
