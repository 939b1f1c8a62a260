using System.Net.Sockets;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>A peer that behaves as vfkit does with <c>--device virtio-net,unixSocketPath=PATH</c>
/// (crc-org/vfkit pkg/vf/virtionet.go): it binds its own unixgram socket
/// <c>vfkit-PID-RAND.sock</c> in PATH's directory, connects it to PATH, sends "VFKT", then frames.</summary>
public sealed class VfkitPeerTests
{
    [LinuxRootFact]
    public async Task A_vfkit_peer_says_hello_and_then_its_frames_are_answered()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string ours = Path.Combine(daemon.Directory, "vm1.sock");
        var mac = RawFrames.RandomMac();
        var attached = await Vm.AttachAsync(daemon, net.Name, "vm1", Vm.DgramListen(ours), mac);

        string theirs = Path.Combine(daemon.Directory, $"vfkit-{Environment.ProcessId:x}-{Random.Shared.Next(0xffff):x}.sock");
        using var vfkit = UnixSockets.Bind(theirs, SocketType.Dgram);
        vfkit.Connect(new UnixDomainSocketEndPoint(ours));
        vfkit.Send("VFKT"u8);
        var ep = await RawFrames.WaitForAsync(daemon.Client, net.Name, "vm1", e => e.Transport.State == "connected", TimeSpan.FromSeconds(10));
        Assert.Equal(theirs, ep.Transport.CurrentPeer);

        vfkit.Send(RawFrames.ArpRequest(mac, attached.Ipv4, net.Gateway));
        vfkit.ReceiveTimeout = 5_000;
        var buffer = new byte[2048];
        bool answered = false;
        for (int i = 0; i < 20 && !answered; i++)
        {
            int n = vfkit.Receive(buffer);
            answered = RawFrames.IsArpReplyFrom(buffer.AsSpan(0, n), net.Gateway);
        }
        Assert.True(answered, "no ARP reply from the gateway");

        // The hello was no frame: nothing counted it as a malformed one, or as a stranger's.
        ep = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        var drops = ep.Counters!.Drops;
        Assert.True(drops.GetValueOrDefault("malformed") == 0, $"drops: {string.Join(",", drops)}");
        Assert.Equal(0, ep.Transport.ProtocolErrors);
        Assert.Equal(0, ep.Transport.ForeignDatagrams);
    }
}
