using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>QEMU -netdev dgram against a dgram endpoint, with the peer's path given and learnt.</summary>
public sealed class QemuDgramTests
{
    [LinuxRootFact]
    public async Task A_vm_with_a_given_peer_path_gets_a_lease_and_reaches_a_guest()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string ours = Path.Combine(daemon.Directory, "vm1.sock"), theirs = Path.Combine(daemon.Directory, "vm1-qemu.sock");
        var attached = await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.DgramListen(ours, theirs));
        Assert.Equal(theirs, attached.Transport.Peer);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        using var vm = QemuRelay.Start(Vm.QemuDgram(theirs, ours));

        var vmLease = Task.Run(vm.Dhcp);
        var guestLease = Task.Run(guest.Dhcp);
        var lease = await vmLease;
        await guestLease;

        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.Equal("connected", ep.Transport.State);
        Assert.True(vm.Ping("beta"), "vm1 -> beta " + vm.Output);
        Assert.True(guest.Ping("vm1"), "beta -> vm1");
    }

    [LinuxRootFact]
    public async Task Without_a_peer_path_the_daemon_learns_it_from_the_first_datagram()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string ours = Path.Combine(daemon.Directory, "vm1.sock"), theirs = Path.Combine(daemon.Directory, "vm1-qemu.sock");
        var attached = await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.DgramListen(ours));
        Assert.Equal("waiting-for-peer", attached.Transport.State);
        using var vm = QemuRelay.Start(Vm.QemuDgram(theirs, ours));

        var lease = vm.Dhcp();
        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.Equal("connected", ep.Transport.State);
        Assert.True(vm.Ping(net.Gateway), "vm1 -> gateway " + vm.Output);
        Assert.Equal(lease["ip"], vm.Dig($"@{net.Gateway}", $"vm1.{net.Domain}", "+short"));
    }

    /// <summary>Issue 16, finding 8c: a VM process that comes back on a NEW socket path, as vfkit
    /// does on every start, is followed once the old one is gone. Before, the daemon kept the peer
    /// it learnt first (and stayed connected to it, so the kernel refused the new process's
    /// datagrams): the restarted VM got no lease.</summary>
    [LinuxRootFact]
    public async Task A_vm_that_comes_back_on_a_new_socket_path_is_followed()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string ours = Path.Combine(daemon.Directory, "vm1.sock");
        // The VM keeps its MAC across restarts (vfkit: --device virtio-net,mac=...): both runs send from it.
        var mac = RawFrames.RandomMac();
        await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.DgramListen(ours), mac);
        using (var first = WithMac(QemuRelay.Start(Vm.QemuDgram(Path.Combine(daemon.Directory, "vm1-a.sock"), ours)), mac))
        {
            first.Dhcp();
            Assert.True(first.Ping(net.Gateway), "first run -> gateway " + first.Output);
        } // killed with SIGKILL: its socket file stays behind, no socket bound to it

        using var second = WithMac(QemuRelay.Start(Vm.QemuDgram(Path.Combine(daemon.Directory, "vm1-b.sock"), ours)), mac);
        var lease = second.Dhcp();
        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.Equal("connected", ep.Transport.State);
        Assert.True(second.Ping(net.Gateway), "second run -> gateway " + second.Output);
    }

    private static QemuRelay WithMac(QemuRelay relay, string mac)
    {
        relay.Namespace.Ip("link", "set", QemuRelay.Interface, "down");
        relay.Namespace.Ip("link", "set", QemuRelay.Interface, "address", mac);
        relay.Namespace.Ip("link", "set", QemuRelay.Interface, "up");
        return relay;
    }
}
