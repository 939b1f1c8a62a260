using System.Net;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Daemon.Tests;

/// <summary>VXLAN networks through the API on an in-process daemon, with real tunnels on loopback:
/// create, inspect, peers edited live, persisted and restored, the gateway reached through the
/// tunnel, and the errors. (Two daemons and the kernel's vxlan: the integration tests.)</summary>
public sealed class VxlanApiTests
{
    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>A loopback UDP port free now (the kernel's pick for port 0, released).</summary>
    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static bool IsBound(int port)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try { s.Bind(new IPEndPoint(IPAddress.Loopback, port)); return false; }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse) { return true; }
    }

    [Fact]
    public async Task A_tunnel_is_created_shown_edited_live_and_restored()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        int local = FreePort(), peer = FreePort(), other = FreePort();
        string name = Unique("vx");
        var n = await d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = name, Vxlan = new VxlanSpec { Vni = 4242, Local = $"127.0.0.1:{local}", Peers = [$"127.0.0.1:{peer}"] },
        });
        Assert.Equal("nat", n.Mode);
        Assert.NotNull(n.Vxlan);
        Assert.Equal(4242, n.Vxlan!.Vni);
        Assert.Equal($"127.0.0.1:{local}", n.Vxlan.Local);
        Assert.Equal([$"127.0.0.1:{peer}"], n.Vxlan.Peers);
        Assert.Equal("up", n.Vxlan.State);
        Assert.NotNull(n.Vxlan.Counters);
        Assert.Equal(0, n.Vxlan.Counters!.DatagramsIn);
        // The MTU is the underlay's (loopback here) less the encapsulation.
        Assert.Equal(Math.Min(HostRoutes.RouteMtu(IPAddress.Loopback)!.Value - 50, VxlanPlanner.MaxMtu), n.Mtu);
        Assert.True(IsBound(local));

        var edited = await d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = [$"127.0.0.1:{other}"], RemovePeers = [$"127.0.0.1:{peer}"] } });
        Assert.Equal([$"127.0.0.1:{other}"], edited.Vxlan!.Peers);
        Assert.Equal([$"127.0.0.1:{other}"], edited.Vxlan.Counters!.SentPerPeer.Keys);
        await Problems.Expect(HttpStatusCode.Conflict, () => d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = [$"127.0.0.1:{other}"] } }));
        await Problems.Expect(HttpStatusCode.NotFound, () => d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { RemovePeers = [$"127.0.0.1:{peer}"] } }));
        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = ["192.0.2.1"] } }));
        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync("default", new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = ["127.0.0.2"] } }));

        // A gateway host's network moves between nat, host and internal with its tunnel.
        var moved = await d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Mode = "internal" });
        Assert.Equal("internal", moved.Mode);
        Assert.Equal("up", moved.Vxlan!.State);
        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Mode = "bridged:vxlan" }));

        await d.RestartAsync();
        var back = await d.Client.GetNetworkAsync(name);
        Assert.Equal(4242, back.Vxlan!.Vni);
        Assert.Equal($"127.0.0.1:{local}", back.Vxlan.Local);
        Assert.Equal([$"127.0.0.1:{other}"], back.Vxlan.Peers);
        Assert.Equal("up", back.Vxlan.State);
        Assert.Equal(n.Mtu, back.Mtu);
        Assert.Null(back.Warnings);
        Assert.True(IsBound(local));

        await d.Client.DeleteNetworkAsync(name);
        Assert.False(IsBound(local));
    }

    [Fact]
    public async Task The_gateway_answers_a_host_behind_the_tunnel()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerAddress = (IPEndPoint)peer.LocalEndPoint!;
        int local = FreePort();
        string name = Unique("vxgw");
        var n = await d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = name, Subnet = "10.231.0.0/24", AllowHostSubnet = true,
            Vxlan = new VxlanSpec { Vni = 77, Local = $"127.0.0.1:{local}", Peers = [peerAddress.ToString()] },
        });
        var tunnel = new IPEndPoint(IPAddress.Loopback, local);

        // A remote guest asks who has the gateway's address, encapsulated as another host's VTEP would.
        var remoteMac = MacAddress.Parse("02:00:00:aa:bb:cc");
        var gateway = Ipv4Address.Parse(n.Gateway);
        var datagram = new byte[VxlanHeader.Length + EthernetFrame.HeaderLength + ArpPacket.Length];
        VxlanHeader.Write(datagram, 77);
        int at = VxlanHeader.Length + EthernetFrame.WriteHeader(datagram.AsSpan(VxlanHeader.Length), MacAddress.Broadcast, remoteMac, EtherType.Arp);
        ArpPacket.Write(datagram.AsSpan(at), ArpPacket.OpRequest, remoteMac, Ipv4Address.Parse("10.231.0.200"), MacAddress.Zero, gateway);
        await peer.SendToAsync(datagram, tunnel);

        // The reply comes back through the tunnel, to the VTEP the asker was learnt behind, with the VNI.
        var buffer = new byte[2048];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var got = await peer.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.Equal(tunnel, got.RemoteEndPoint);
        Assert.Equal(VxlanParseStatus.Ok, VxlanHeader.TryParse(buffer.AsSpan(0, got.ReceivedBytes), out var header));
        Assert.Equal(77u, header.Vni);
        Assert.True(EthernetFrame.TryParse(header.Payload, out var eth));
        Assert.Equal(remoteMac, eth.Destination);
        Assert.Equal(EtherType.Arp, eth.EtherType);
        Assert.True(ArpPacket.TryParse(eth.Payload, out var reply));
        Assert.Equal(ArpPacket.OpReply, reply.Operation);
        Assert.Equal(gateway, reply.SenderIp);
        Assert.Equal(MacAddress.Parse(n.GatewayMac), reply.SenderMac);

        var c = (await d.Client.GetNetworkAsync(name)).Vxlan!.Counters!;
        Assert.Equal(1, c.DatagramsIn);
        Assert.True(c.DatagramsOut >= 1);
        Assert.Equal(1, c.LearntMacs);
        Assert.True(c.SentPerPeer[peerAddress.ToString()] >= 1);

        // Not a peer: dropped and counted, and the families are on /metrics.
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            stranger.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            await stranger.SendToAsync(datagram, tunnel);
        }
        await Eventually(async () => (await d.Client.GetNetworkAsync(name)).Vxlan!.Counters!.Dropped["not-a-peer"] == 1);
        var metrics = await d.Raw.GetStringAsync("metrics");
        Assert.Contains($"switchyard_vxlan_drops_total{{network=\"{name}\",reason=\"not-a-peer\"}} 1", metrics);
        // Every datagram taken off the socket counts in, dropped or not.
        Assert.Contains($"switchyard_vxlan_datagrams_total{{network=\"{name}\",direction=\"in\"}} 2", metrics);
        Assert.Contains($"switchyard_vxlan_peer_datagrams_total{{network=\"{name}\",peer=\"{peerAddress}\"}}", metrics);
    }

    [Fact]
    public async Task A_tunnel_whose_address_is_taken_at_restart_leaves_the_network_up_and_says_so()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        int local = FreePort();
        string name = Unique("vxdown");
        await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Vxlan = new VxlanSpec { Vni = 9, Local = $"127.0.0.1:{local}" } });
        await d.StopAsync();
        using (var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            squatter.Bind(new IPEndPoint(IPAddress.Loopback, local));
            await d.StartAsync();
            var n = await d.Client.GetNetworkAsync(name);
            Assert.Equal("down", n.Vxlan!.State);
            Assert.Null(n.Vxlan.Counters);
            Assert.Contains(n.Warnings!, w => w.Contains("VXLAN tunnel") && w.Contains($"127.0.0.1:{local}"));
            // Peers edited meanwhile are kept for the next start.
            await d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = ["127.0.0.9"] } });
            // The address stays the network's: another cannot take it (409), nor a port another socket holds.
            await Problems.Expect(HttpStatusCode.Conflict, () => d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = Unique("vx2"), Vxlan = new VxlanSpec { Vni = 9, Local = $"0.0.0.0:{local}" } }));
            string held = Unique("vx3");
            using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var e = await Problems.Expect(HttpStatusCode.Conflict, () => d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = held, Vxlan = new VxlanSpec { Vni = 9, Local = holder.LocalEndPoint!.ToString() } }));
            Assert.Contains("choose another", e.Message);
            await Problems.Expect(HttpStatusCode.NotFound, () => d.Client.GetNetworkAsync(held));
            await d.StopAsync();
        }
        await d.StartAsync();
        var up = await d.Client.GetNetworkAsync(name);
        Assert.Equal("up", up.Vxlan!.State);
        Assert.Equal(["127.0.0.9:4789"], up.Vxlan.Peers);
        Assert.Null(up.Warnings);
    }

    [Fact]
    public async Task Bridged_vxlan_joins_without_gateway_services_and_keeps_its_mode()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        string name = Unique("vxjoin");
        int local = FreePort();
        var n = await d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = name, Mode = "bridged:vxlan", Vxlan = new VxlanSpec { Vni = 5, Local = $"127.0.0.1:{local}", Peers = ["127.0.0.3"] },
        });
        Assert.Equal("bridged", n.Mode);
        Assert.Null(n.BridgeInterface);
        Assert.Equal("up", n.Vxlan!.State);
        Assert.Null(n.Nat);
        Assert.True(ListFilter.TryParse(["mode=bridged"], ListFilter.NetworkKeys, out var bridged, out _));
        Assert.Contains(await d.Client.ListNetworksAsync(bridged), x => x.Name == name);
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Mode = "nat" }));
        Assert.Contains("bridged:vxlan", e.Message);
        // Nothing is stored or left bound when the tunnel cannot be opened: an address the host lacks.
        string bad = Unique("vxbad");
        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = bad, Mode = "bridged:vxlan", Vxlan = new VxlanSpec { Vni = 5, Local = "192.0.2.77", Peers = ["192.0.2.1"] },
        }));
        await Problems.Expect(HttpStatusCode.NotFound, () => d.Client.GetNetworkAsync(bad));
        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = bad, Mode = "bridged:vxlan" }));
    }

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
