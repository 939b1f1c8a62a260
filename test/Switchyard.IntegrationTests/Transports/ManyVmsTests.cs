using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>Transports mix on one network: a stream VM, a dgram VM and a namespace guest reach one another by name.</summary>
public sealed class ManyVmsTests
{
    [LinuxRootFact]
    public async Task Stream_and_dgram_vms_and_a_guest_ping_each_other_by_name()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string s1 = Path.Combine(daemon.Directory, "vm1.sock");
        string d2 = Path.Combine(daemon.Directory, "vm2.sock"), q2 = Path.Combine(daemon.Directory, "vm2-qemu.sock");
        await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.StreamListen(s1));
        await Vm.AttachAsync(daemon, net.Name, "vm2", Vm.DgramListen(d2, q2));
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        using var vm1 = QemuRelay.Start(Vm.QemuStreamClient(s1));
        using var vm2 = QemuRelay.Start(Vm.QemuDgram(q2, d2));

        var leases = await Task.WhenAll(Task.Run(vm1.Dhcp), Task.Run(vm2.Dhcp), Task.Run(guest.Dhcp));
        Assert.Equal(3, leases.Select(l => l["ip"]).Distinct().Count());

        var pings = await Task.WhenAll(
            Task.Run(() => ("vm1 -> vm2", vm1.Ping("vm2"))),
            Task.Run(() => ("vm1 -> beta", vm1.Ping("beta"))),
            Task.Run(() => ("vm2 -> vm1", vm2.Ping("vm1"))),
            Task.Run(() => ("vm2 -> beta", vm2.Ping("beta"))),
            Task.Run(() => ("beta -> vm1", guest.Ping("vm1"))),
            Task.Run(() => ("beta -> vm2", guest.Ping("vm2"))));
        Assert.Empty(pings.Where(p => !p.Item2).Select(p => p.Item1));
    }
}
