using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>socket_vmnet's way in, which Lima's <c>networks: - socket: PATH</c> uses too: a
/// launcher connects a unix stream socket to PATH, leaves it at fd 3 and execs QEMU with
/// <c>-netdev socket,id=net0,fd=3</c> (lima-vm/socket_vmnet client/main.c; Lima's QEMU driver
/// passes <c>socket,fd={{ fd_connect PATH }}</c>). Frames carry a 4-byte big-endian length, which a
/// stream endpoint speaks, so a Switchyard socket stands in for socket_vmnet's unchanged.</summary>
public sealed class SocketVmnetClientTests
{
    /// <summary>What socket_vmnet_client does, in python3 (a test.sh package): connect, fd 3, exec.</summary>
    private const string Client =
        "import os,socket,sys\n" +
        "s=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM)\n" +
        "s.connect(sys.argv[1])\n" +
        "if s.fileno()!=3: os.dup2(s.fileno(),3)\n" +
        "os.set_inheritable(3,True)\n" + // python opens its fds close-on-exec
        "os.execvp(sys.argv[2],sys.argv[2:])\n";

    [LinuxRootFact]
    public async Task Qemu_behind_a_socket_vmnet_client_gets_a_lease_and_pings_the_gateway()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string sock = Path.Combine(daemon.Directory, "lima-vm1.sock");
        await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.StreamListen(sock));
        using var vm = QemuRelay.Start("socket,id=s0,fd=3", ["python3", "-c", Client, sock]);

        var lease = vm.Dhcp();
        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.Equal("connected", ep.Transport.State);
        Assert.True(vm.Ping(net.Gateway), "vm1 -> gateway " + vm.Output);
        Assert.Equal(lease["ip"], vm.Dig($"@{net.Gateway}", $"vm1.{net.Domain}", "+short"));
    }
}
