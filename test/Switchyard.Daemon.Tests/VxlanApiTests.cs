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
    public async Task Frames_cross_the_tunnel_both_ways_beside_the_gateway()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        using var peer = UdpOn(IPAddress.Loopback);
        using var vm = UdpOn(IPAddress.Loopback);
        var peerAddress = (IPEndPoint)peer.LocalEndPoint!;
        int local = FreePort(), vmListen = FreePort();
        string name = Unique("vxgw");
        await d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = name, Subnet = "10.231.0.0/24", AllowHostSubnet = true,
            Vxlan = new VxlanSpec { Vni = 77, Local = $"127.0.0.1:{local}", Peers = [peerAddress.ToString()] },
        });
        var tunnel = new IPEndPoint(IPAddress.Loopback, local);
        var vmMac = MacAddress.Parse("02:00:00:00:77:01");
        var endpoint = await d.Client.AttachEndpointAsync(name, new EndpointAttachRequest
        {
            Name = "vm", Mac = vmMac.ToString(),
            Transport = new TransportSpec { Kind = "udp", Listen = $"127.0.0.1:{vmListen}", Peer = vm.LocalEndPoint!.ToString() },
        });

        // A local guest's broadcast goes to the gateway and, replicated, to the peer with the VNI (RFC 7348 section 5).
        var arp = new byte[EthernetFrame.HeaderLength + ArpPacket.Length];
        int n = EthernetFrame.WriteHeader(arp, MacAddress.Broadcast, vmMac, EtherType.Arp);
        ArpPacket.Write(arp.AsSpan(n), ArpPacket.OpRequest, vmMac, Ipv4Address.Parse(endpoint.Ipv4), MacAddress.Zero, Ipv4Address.Parse("10.231.0.200"));
        await vm.SendToAsync(arp, new IPEndPoint(IPAddress.Loopback, vmListen));
        var (from, datagram) = await Receive(peer, _ => true);
        Assert.Equal(tunnel, from);
        Assert.Equal(VxlanParseStatus.Ok, VxlanHeader.TryParse(datagram, out var header));
        Assert.Equal(77u, header.Vni);
        Assert.Equal(arp, header.Payload.ToArray());

        // A remote guest's unicast to it comes up through the tunnel to the guest alone.
        var remoteMac = MacAddress.Parse("02:00:00:aa:bb:cc");
        var inbound = new byte[VxlanHeader.Length + EthernetFrame.HeaderLength + 5];
        VxlanHeader.Write(inbound, 77);
        int at = VxlanHeader.Length + EthernetFrame.WriteHeader(inbound.AsSpan(VxlanHeader.Length), vmMac, remoteMac, 0x88B5);   // IEEE local experimental
        "hello"u8.CopyTo(inbound.AsSpan(at));
        await peer.SendToAsync(inbound, tunnel);
        var (_, frame) = await Receive(vm, f => f.Length > 13 && f[12] == 0x88 && f[13] == 0xB5);
        Assert.Equal(inbound[VxlanHeader.Length..], frame);

        var c = (await d.Client.GetNetworkAsync(name)).Vxlan!.Counters!;
        Assert.Equal(1, c.DatagramsIn);
        Assert.True(c.DatagramsOut >= 1);
        Assert.Equal(1, c.LearntMacs);
        Assert.True(c.SentPerPeer[peerAddress.ToString()] >= 1);

        // Not a peer: dropped and counted, and the families are on /metrics.
        using (var stranger = UdpOn(IPAddress.Parse("127.0.0.2")))
            await stranger.SendToAsync(inbound, tunnel);
        await Eventually(async () => (await d.Client.GetNetworkAsync(name)).Vxlan!.Counters!.Dropped["not-a-peer"] == 1);
        var metrics = await d.Raw.GetStringAsync("metrics");
        Assert.Contains($"switchyard_vxlan_drops_total{{network=\"{name}\",reason=\"not-a-peer\"}} 1", metrics);
        // Every datagram taken off the socket counts in, dropped or not.
        Assert.Contains($"switchyard_vxlan_datagrams_total{{network=\"{name}\",direction=\"in\"}} 2", metrics);
        Assert.Contains($"switchyard_vxlan_peer_datagrams_total{{network=\"{name}\",peer=\"{peerAddress}\"}}", metrics);
        await d.Client.DetachEndpointAsync(name, "vm");
    }

    [Fact]
    public async Task An_ipv6_underlay_costs_seventy_bytes_and_keeps_one_family()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        using var holder = UdpOn(IPAddress.IPv6Loopback);
        int port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        holder.Dispose();
        string name = Unique("vx6");
        // (Without --vxlan-local it would be [::1]:4789, the planner's tests show; a free port here.)
        var n = await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Vxlan = new VxlanSpec { Vni = 6, Local = $"[::1]:{port}", Peers = [$"[::1]:{port + 1}"] } });
        Assert.Equal($"[::1]:{port}", n.Vxlan!.Local);
        Assert.Equal("up", n.Vxlan.State);
        Assert.Equal(Math.Min(HostRoutes.RouteMtu(IPAddress.IPv6Loopback)!.Value - 70, VxlanPlanner.MaxMtu), n.Mtu);
        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync(name, new NetworkUpdateRequest { Vxlan = new VxlanUpdate { AddPeers = ["127.0.0.1"] } }));
    }

    private static Socket UdpOn(IPAddress address)
    {
        var s = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(address, 0));
        return s;
    }

    /// <summary>The first datagram that passes <paramref name="wanted"/>, within 10 s.</summary>
    private static async Task<(IPEndPoint From, byte[] Data)> Receive(Socket socket, Func<byte[], bool> wanted)
    {
        var buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var got = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            var data = buffer[..got.ReceivedBytes];
            if (wanted(data)) return ((IPEndPoint)got.RemoteEndPoint, data);
        }
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
