using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>The fd handoff: `yard connect` (the real CLI) running QEMU with the socket as fd 3, and the client API directly.</summary>
public sealed class QemuFdTests
{
    private static string[] Connect(TestDaemon daemon, string network, string name, bool stream) =>
        ["dotnet", Vm.YardDll, "--socket", daemon.SocketPath, "connect", network, name, .. stream ? new[] { "--stream" } : [], "--"];

    [LinuxRootFact]
    public async Task Yard_connect_hands_qemu_a_datagram_socket()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        using var vm = QemuRelay.Start("dgram,id=s0,local.type=fd,local.str=3", Connect(daemon, net.Name, "vm3", stream: false));
        await AssertJoined(daemon, net, guest, vm, stream: false);
    }

    /// <summary>The VM behind the handed-over socket and the namespace guest get leases and reach each other by name.</summary>
    private static async Task AssertJoined(TestDaemon daemon, NetworkInfo net, Guest guest, QemuRelay vm, bool stream)
    {
        var vmLease = Task.Run(vm.Dhcp);
        var guestLease = Task.Run(guest.Dhcp);
        var lease = await vmLease;
        await guestLease;

        var ep = await daemon.Client.GetEndpointAsync(net.Name, "vm3");
        Assert.Equal("fd", ep.Transport.Kind);
        Assert.Equal(stream, ep.Transport.Stream);
        Assert.Equal(ep.Ipv4, lease["ip"]);
        Assert.True(vm.Ping("beta"), "vm3 -> beta " + vm.Output);
        Assert.True(guest.Ping("vm3"), "beta -> vm3");
    }

    [LinuxRootFact]
    public async Task Yard_connect_stream_hands_qemu_a_stream_socket()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "beta");
        using (var vm = QemuRelay.Start("stream,id=s0,addr.type=fd,addr.str=3", Connect(daemon, net.Name, "vm3", stream: true)))
            await AssertJoined(daemon, net, guest, vm, stream: true);
        // QEMU is gone, and with it the stream pair's other end: the endpoint detaches itself.
        var deadline = DateTime.UtcNow + Bounds.Generous;
        while ((await daemon.Client.ListEndpointsAsync(net.Name)).Any(e => e.Name == "vm3") && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.DoesNotContain(await daemon.Client.ListEndpointsAsync(net.Name), e => e.Name == "vm3");
    }

    [LinuxRootFact]
    public async Task AttachFdAsync_returns_a_socket_that_exchanges_frames()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        using var attachment = await daemon.Client.AttachFdAsync(net.Name, "raw1");
        Assert.Equal("fd", attachment.Endpoint.Transport.Kind);
        using var socket = attachment.ToSocket();
        string mac = RawFrames.RandomMac();

        socket.Send(RawFrames.ArpRequest(mac, attachment.Endpoint.Ipv4, net.Gateway));
        using var cts = new CancellationTokenSource(Bounds.Generous);
        var buffer = new byte[2048];
        bool replied = false;
        for (int i = 0; i < 100 && !replied; i++)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            replied = RawFrames.IsArpReplyFrom(buffer.AsSpan(0, n), net.Gateway);
            if (replied) Assert.Equal(RawFrames.Mac(mac), buffer.AsSpan(0, 6).ToArray()); // to us
        }
        Assert.True(replied, "no ARP reply from the gateway");
        // The endpoint took the MAC it first sent from.
        Assert.Equal(mac, (await daemon.Client.GetEndpointAsync(net.Name, "raw1")).Mac);
    }
}
