using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>QEMU on a udp endpoint, a frame per UDP datagram: <c>-netdev dgram</c> with inet
/// addresses (what libvirt's <c>&lt;interface type='udp'&gt;</c> becomes, and the example in
/// docs/integrations.md) and the older <c>-netdev socket,udp=</c>. QEMU runs in the host's
/// namespace (its UDP sockets share loopback with the daemon) and relays a test namespace's TAP.</summary>
public sealed class QemuUdpTests
{
    private static TransportSpec UdpListen(string listen, string? peer = null) => new() { Kind = "udp", Listen = listen, Peer = peer };

    /// <summary>A port nobody uses right now (the kernel's pick, released at once).</summary>
    private static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static string QemuDgramInet(int local, int remote) =>
        $"dgram,id=s0,local.type=inet,local.host=127.0.0.1,local.port={local},remote.type=inet,remote.host=127.0.0.1,remote.port={remote}";

    private static string QemuSocketUdp(int local, int remote) => $"socket,id=s0,udp=127.0.0.1:{remote},localaddr=127.0.0.1:{local}";

    [LinuxRootFact]
    public async Task Netdev_dgram_with_inet_addresses_and_a_given_peer_gets_a_lease_and_pings_the_gateway()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        int ours = FreeUdpPort(), theirs = FreeUdpPort();
        var attached = await Vm.AttachAsync(daemon, net.Name, "vm1", UdpListen($"127.0.0.1:{ours}", $"127.0.0.1:{theirs}"));
        Assert.Equal("udp", attached.Transport.Kind);
        Assert.Equal($"127.0.0.1:{ours}", attached.Transport.Listen);
        Assert.Equal($"127.0.0.1:{theirs}", attached.Transport.CurrentPeer);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        using var vm = QemuRelay.StartInHostNamespace(QemuDgramInet(theirs, ours));

        var vmLease = Task.Run(vm.Dhcp);
        var guestLease = Task.Run(guest.Dhcp);
        var lease = await vmLease;
        await guestLease;
        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.Equal(net.Gateway, lease["router"]);
        Assert.Equal("connected", ep.Transport.State);
        Assert.True(vm.Ping(net.Gateway), "vm1 -> gateway " + vm.Output);
        Assert.True(vm.Ping("beta"), "vm1 -> beta " + vm.Output);
        Assert.True(guest.Ping("vm1"), "beta -> vm1");
        Assert.Equal(0, ep.Transport.ForeignDatagrams);
    }

    /// <summary>No peer given: the first datagram's source (QEMU's localaddr) becomes the peer, and
    /// a stranger's datagrams to the same port are dropped, counted, and answered with nothing.</summary>
    [LinuxRootFact]
    public async Task Netdev_socket_udp_with_a_learnt_peer_works_and_strangers_are_dropped_and_counted()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        int ours = FreeUdpPort(), theirs = FreeUdpPort();
        var attached = await Vm.AttachAsync(daemon, net.Name, "vm1", UdpListen(ours.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal($"127.0.0.1:{ours}", attached.Transport.Listen); // a bare port listens on loopback
        Assert.Equal("waiting-for-peer", attached.Transport.State);
        using var vm = QemuRelay.StartInHostNamespace(QemuSocketUdp(theirs, ours));

        var lease = vm.Dhcp();
        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.Equal($"127.0.0.1:{theirs}", ep.Transport.CurrentPeer);
        Assert.True(vm.Ping(net.Gateway), "vm1 -> gateway " + vm.Output);

        // A stranger on loopback asks the gateway for its MAC, as if it were the VM.
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        stranger.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var arp = RawFrames.ArpRequest(ep.Mac, ep.Ipv4, net.Gateway);
        for (int i = 0; i < 5; i++) stranger.SendTo(arp, new IPEndPoint(IPAddress.Loopback, ours));
        ep = await RawFrames.WaitForAsync(daemon.Client, net.Name, "vm1", e => e.Transport.ForeignDatagrams >= 5, TimeSpan.FromSeconds(10));
        Assert.Equal(5, ep.Transport.ForeignDatagrams);
        stranger.ReceiveTimeout = 500;
        Assert.Throws<SocketException>(() => stranger.Receive(new byte[2048]));
        Assert.Equal($"127.0.0.1:{theirs}", ep.Transport.CurrentPeer);
        Assert.True(vm.Ping(net.Gateway), "vm1 -> gateway after the stranger " + vm.Output);
    }

    /// <summary>The endpoint is stored: after a daemon restart it listens on its port again and
    /// the VM, which never stopped, gets through and keeps its address.</summary>
    [LinuxRootFact]
    public async Task A_udp_endpoint_listens_again_after_a_daemon_restart()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        int ours = FreeUdpPort(), theirs = FreeUdpPort();
        await Vm.AttachAsync(daemon, net.Name, "vm1", UdpListen($"127.0.0.1:{ours}"));
        using var vm = QemuRelay.StartInHostNamespace(QemuDgramInet(theirs, ours));
        string ip = vm.Dhcp()["ip"];
        Assert.True(vm.Ping(net.Gateway), "before restart " + vm.Output);

        await daemon.RestartAsync();

        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal("udp", ep.Transport.Kind);
        Assert.Equal($"127.0.0.1:{ours}", ep.Transport.Listen);
        Assert.True(vm.Ping(net.Gateway), "after restart " + vm.Output);
        ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal("connected", ep.Transport.State);
        Assert.Equal(ip, ep.Ipv4);
        Assert.Equal(ip, vm.Dhcp()["ip"]);
    }

    /// <summary>The CLI as docs/integrations.md shows it, and its usage errors: each exits
    /// non-zero with one line, and none leaves an endpoint behind.</summary>
    [LinuxRootFact]
    public async Task The_cli_attaches_a_udp_endpoint_and_refuses_bad_addresses()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        int ours = FreeUdpPort(), theirs = FreeUdpPort();
        var ok = Yard(daemon, "endpoint", "attach", net.Name, "vm1", "--udp-listen", $"127.0.0.1:{ours}", "--udp-peer", $"127.0.0.1:{theirs}", "--format", "json");
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        using (var doc = JsonDocument.Parse(ok.StdOut))
        {
            var t = doc.RootElement.GetProperty("transport");
            Assert.Equal("udp", t.GetProperty("kind").GetString());
            Assert.Equal($"127.0.0.1:{theirs}", t.GetProperty("peer").GetString());
        }
        var ls = Yard(daemon, "endpoint", "ls", net.Name);
        Assert.Contains($"udp 127.0.0.1:{ours} <-> 127.0.0.1:{theirs}", ls.StdOut);

        foreach (var args in new[]
        {
            new[] { "--udp-listen", "nonsense" },
            ["--udp-listen", "127.0.0.1:0"],
            ["--udp-listen", $"127.0.0.1:{ours}"],                          // in use by vm1
            ["--udp-listen", $"127.0.0.1:{FreeUdpPort()}", "--udp-peer", "[::1]:5000"],
            ["--udp-peer", "127.0.0.1:5000"],                                // without --udp-listen
            ["--udp-listen", "5000", "--dgram-listen", "/tmp/x.sock"],
        })
        {
            var bad = Yard(daemon, ["endpoint", "attach", net.Name, "vm2", .. args]);
            Assert.True(bad.ExitCode != 0, string.Join(' ', args));
            Assert.False(string.IsNullOrWhiteSpace(bad.StdErr), string.Join(' ', args));
        }
        Assert.DoesNotContain(await daemon.Client.ListEndpointsAsync(net.Name), e => e.Name == "vm2");
    }

    private static Command.Result Yard(TestDaemon daemon, params string[] args) =>
        Command.Run("dotnet", [Vm.YardDll, "--socket", daemon.SocketPath, .. args], check: false, timeoutMs: 30_000);
}
