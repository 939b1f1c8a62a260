using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>QEMU -netdev stream against a stream endpoint, both ways round.</summary>
public sealed class QemuStreamTests
{
    [LinuxRootFact]
    public async Task A_vm_connecting_to_a_listening_endpoint_gets_a_lease_and_reaches_a_guest_by_name()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string sock = Path.Combine(daemon.Directory, "vm1.sock");
        var attached = await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.StreamListen(sock));
        Assert.Equal("listening", attached.Transport.State);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        using var vm = QemuRelay.Start(Vm.QemuStreamClient(sock));

        var vmLease = Task.Run(vm.Dhcp);
        var guestLease = Task.Run(guest.Dhcp);
        var lease = await vmLease;
        await guestLease;

        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.Equal("connected", ep.Transport.State);
        Assert.Equal(1, ep.Transport.Connects);
        Assert.True(vm.Ping("beta"), "vm1 -> beta " + vm.Output);
        Assert.True(guest.Ping("vm1"), "beta -> vm1");
    }

    [LinuxRootFact]
    public async Task The_daemon_connects_to_a_listening_vm()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string sock = Path.Combine(daemon.Directory, "qemu1.sock");
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        using var vm = QemuRelay.Start(Vm.QemuStreamServer(sock));
        await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.StreamConnect(sock));
        await RawFrames.WaitForAsync(daemon.Client, net.Name, "vm1", e => e.Transport.State == "connected");

        var vmLease = Task.Run(vm.Dhcp);
        var guestLease = Task.Run(guest.Dhcp);
        var lease = await vmLease;
        await guestLease;

        Assert.Equal((await daemon.Client.GetEndpointAsync(net.Name, "vm1")).Ipv4, lease["ip"]);
        Assert.True(vm.Ping("beta"), "vm1 -> beta " + vm.Output);
        Assert.True(guest.Ping("vm1"), "beta -> vm1");
    }
}
