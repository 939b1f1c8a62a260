using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Nat;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

/// <summary>A published UDP port: a host client's datagram reaches the guest's port from the
/// gateway address (a loopback client), and the guest's reply goes back to that client.</summary>
public sealed class UdpPublishTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);   // real peers: a generous bound

    [Fact]
    public void Client_datagram_reaches_the_guest_and_the_reply_returns()
    {
        using var net = Create(NetworkMode.Nat);
        var guest = Attach(net, "alpha", MacA, IpA);
        int hostPort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            hostPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        Assert.True(Switchyard.Daemon.Planning.RuleSpecs.TryParsePublish($"127.0.0.1:{hostPort}:5353/udp", out var spec, out var error), error);
        using var published = net.Publish("alpha", spec);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
        client.SendTo("question"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, hostPort));

        var frame = guest.WaitFor(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Udp, Wait);
        Assert.NotNull(frame);
        Assert.True(Frames.TryIpv4(frame, out var packet));
        Assert.Equal(GatewayIp, packet.Source);
        Assert.Equal(IpA, packet.Destination);
        Assert.True(UdpDatagram.TryParse(packet.Payload, out var udp));
        Assert.True(udp.IsChecksumValid(packet.Source, packet.Destination));
        Assert.Equal(5353, udp.DestinationPort);
        Assert.Equal(clientPort, udp.SourcePort);
        Assert.Equal("question", System.Text.Encoding.ASCII.GetString(udp.Payload));

        guest.Inject(Frames.Udp(GatewayMac, MacA, IpA, GatewayIp, 5353, (ushort)clientPort, "answer"u8));
        client.ReceiveTimeout = 10_000;
        var buf = new byte[64];
        int n = client.Receive(buf);
        Assert.Equal("answer", System.Text.Encoding.ASCII.GetString(buf, 0, n));
    }

    [Fact]
    public void Publishing_a_udp_port_in_use_is_a_clear_error()
    {
        using var net = Create(NetworkMode.Nat);
        Attach(net, "alpha", MacA, IpA);
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var e = Assert.Throws<PublishException>(() => net.Publish("alpha", new PublishedPort(IPAddress.Loopback, port, 53, ProtocolType.Udp)));
        Assert.Contains("already in use", e.Message);
    }
}
