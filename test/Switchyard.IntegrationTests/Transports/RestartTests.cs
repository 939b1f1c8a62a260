using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>A VM on a stream socket survives a daemon restart: it reconnects and keeps its address and name.</summary>
public sealed class RestartTests
{
    [LinuxRootFact]
    public async Task A_stream_vm_reconnects_after_a_daemon_restart_and_keeps_its_address()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        QemuRelay vm;
        string sock = Path.Combine(daemon.Directory, "vm1.sock");
        if (QemuRelay.MajorVersion >= 8)
        {
            // QEMU reconnects (reconnect= appeared in QEMU 8.0).
            await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.StreamListen(sock));
            vm = QemuRelay.Start(Vm.QemuStreamClient(sock) + ",reconnect=1");
        }
        else
        {
            // QEMU 7.2's stream client cannot reconnect: QEMU listens and the daemon reconnects.
            vm = QemuRelay.Start(Vm.QemuStreamServer(sock));
            try { await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.StreamConnect(sock)); }
            catch { vm.Dispose(); throw; }
        }
        using (vm)
        {
            var vmLease = Task.Run(vm.Dhcp);
            var guestLease = Task.Run(guest.Dhcp);
            string ip = (await vmLease)["ip"];
            await guestLease;
            Assert.True(vm.Ping("beta"), "before restart: vm1 -> beta " + vm.Output);

            await daemon.RestartAsync();

            var ep = await RawFrames.WaitForAsync(daemon.Client, net.Name, "vm1", e => e.Transport.State == "connected", TimeSpan.FromSeconds(15));
            Assert.Equal(ip, ep.Ipv4);
            Assert.Equal(ip, (await daemon.Client.ListLeasesAsync(net.Name)).Single(l => l.Endpoint == "vm1").Ipv4);
            Assert.Equal(ip, vm.Dig($"@{net.Gateway}", $"vm1.{net.Domain}", "+short"));
            Assert.True(vm.Ping("beta"), "after restart: vm1 -> beta " + vm.Output);
            Assert.True(guest.Ping("vm1"), "after restart: beta -> vm1");
            Assert.Equal(ip, vm.Dhcp()["ip"]);
        }
    }
}
