using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Client;
using Switchyard.Daemon.Api.Views;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>Host ports published to remote guests (no endpoint: a lease of the dynamic pool, as a guest
/// behind a VXLAN tunnel has) through the control plane: found by host name, address or MAC, kept for the
/// MAC, stored, shown with where they go now (on the control plane's clock), listening again after a
/// restart, removable, and refused with the reason (no such lease, port taken, no NAT). The leases come
/// from DHCP messages given straight to the live network's server, as a tunnel would bring them; the host
/// ports are on 127.0.0.1, picked free by the kernel. The data path itself: MultiHostPublishTests.</summary>
public sealed class RemotePublishTests : IDisposable
{
    private static readonly MacAddress Far = MacAddress.Parse("02:99:00:00:00:01");
    private static readonly MacAddress Other = MacAddress.Parse("02:99:00:00:00:02");
    private static readonly Ipv4Address Gateway = Ipv4Address.Parse("10.79.0.1");
    private readonly DirectoryInfo _dir = System.IO.Directory.CreateTempSubdirectory("yard-rpub-");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-03T12:00:00Z"));
    private readonly StateStore _store;
    private readonly string _resolv;
    private ControlPlane _plane;

    public RemotePublishTests()
    {
        _store = new StateStore(Path.Combine(_dir.FullName, "state.db"));
        _resolv = Path.Combine(_dir.FullName, "resolv.conf");
        File.WriteAllText(_resolv, "nameserver 127.0.0.53\n");
        _plane = NewPlane();
    }

    private ControlPlane NewPlane() => new(_store, new DirectoryOptions(_resolv, TimeSpan.FromHours(1)), NullLoggerFactory.Instance, _time, new EmptyHost());

    private NetworkDirectory Directory => _plane.Directory;

    private Switchyard.Network.VirtualNetwork Live => _plane.Registry.TryGet("vx", out var net) ? net.Live : throw new InvalidOperationException("no network vx");

    private NetworkInfo Inspect(string name = "vx") => new NetworkViews(_plane.Registry).Get(name);

    /// <summary>A lease of the pool for <paramref name="mac"/> (DISCOVER, then REQUEST), with a host name.</summary>
    private Ipv4Address Lease(MacAddress mac, string? hostName)
    {
        var offer = Dhcp(mac, DhcpMessageType.Discover, null, hostName);
        Assert.Equal(DhcpMessageType.Offer, offer.Type);
        Assert.Equal(DhcpMessageType.Ack, Dhcp(mac, DhcpMessageType.Request, offer.Yiaddr, hostName).Type);
        return offer.Yiaddr;
    }

    private (DhcpMessageType? Type, Ipv4Address Yiaddr) Dhcp(MacAddress mac, DhcpMessageType type, Ipv4Address? requested, string? hostName)
    {
        var request = new byte[400];
        int n = DhcpClientMessage.WriteRequest(request, type, 7, mac, Ipv4Address.Any, requested, type == DhcpMessageType.Request ? Gateway : null, [1, 3], hostName);
        var reply = new byte[600];
        int len = Live.Dhcp.Handle(request.AsSpan(0, n), mac, reply, out _);
        if (len == 0) return (null, default);
        Assert.True(DhcpMessageReader.TryParse(reply.AsSpan(0, len), out var r));
        return (r.MessageType, r.YourAddress);
    }

    private async Task CreateAsync(string mode = "nat")
    {
        await Directory.StartAsync(createDefault: false);
        await Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest
        {
            Name = "vx", Mode = mode, Subnet = "10.79.0.0/24", DhcpRange = "10.79.0.100-10.79.0.110", DnsUpstreams = ["none"],
        });
    }

    /// <summary>A TCP port on 127.0.0.1 that nothing listens on right now.</summary>
    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static bool Listening(int port)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try { s.Connect(new IPEndPoint(IPAddress.Loopback, port)); return true; }
        catch (SocketException) { return false; }
    }

    private static async Task<ControlException> Refused(ControlError kind, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<ControlException>(call);
        Assert.Equal(kind, e.Kind);
        return e;
    }

    [Theory]
    [InlineData("far-box")]
    [InlineData("FAR-BOX.vx.internal")]
    [InlineData("ADDRESS")]   // the address Far leased
    [InlineData("02:99:00:00:00:01")]
    public async Task A_remote_guest_is_found_by_host_name_address_or_mac(string to)
    {
        await CreateAsync();
        Lease(Other, "other");
        var address = Lease(Far, "far-box");
        to = to == "ADDRESS" ? address.ToString() : to;
        int port = FreePort();
        await Directory.PublishToRemoteAsync(Caller.Daemon, "vx", to, $"{port}:80");
        var published = Assert.Single(Inspect().Published!);
        Assert.Equal((Far.ToString(), "far-box", address.ToString(), (string?)null), (published.Mac, published.HostName, published.Ipv4, published.Error));
        Assert.Equal($"127.0.0.1:{port}:80/tcp", published.Spec);
    }

    [Fact]
    public async Task A_published_port_is_stored_listens_follows_the_lease_and_comes_back_after_a_restart()
    {
        await CreateAsync();
        var address = Lease(Far, "far-box");
        int port = FreePort();
        await Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "far-box", $"127.0.0.1:{port}:8080");
        Assert.True(Listening(port), "the host port does not listen");
        var row = Assert.Single(_store.RemotePublishedPorts("vx"));
        Assert.Equal(($"127.0.0.1:{port}:8080/tcp", Far), (row.Spec, row.Mac));

        // On the daemon's clock: once the lease has run out, the port has nowhere to go (it stays, for the guest's return).
        _time.Advance(TimeSpan.FromHours(2));
        var expired = Assert.Single(Inspect().Published!);
        Assert.Null(expired.Ipv4);
        Assert.True(Listening(port));
        Lease(Far, "far-box");
        Assert.Equal(address.ToString(), Assert.Single(Inspect().Published!).Ipv4);

        await _plane.Events.FlushAsync();   // the renewed lease is stored (the data plane's writer is asynchronous)
        _plane.Dispose();
        Assert.False(Listening(port), "the host port outlived the daemon");
        _plane = NewPlane();
        await Directory.StartAsync(createDefault: false);
        Assert.True(Listening(port), "the host port does not listen after the restart");
        var restored = Assert.Single(Inspect().Published!);
        Assert.Equal(($"127.0.0.1:{port}:8080/tcp", Far.ToString(), address.ToString(), (string?)null), (restored.Spec, restored.Mac, restored.Ipv4, restored.Error));

        // Any spelling of the spec unpublishes it: closed at once, gone from the store and inspect.
        await Directory.UnpublishRemoteAsync(Caller.Daemon, "vx", $"{port}:8080");
        Assert.False(Listening(port));
        Assert.Empty(_store.RemotePublishedPorts("vx"));
        Assert.Null(Inspect().Published);
        Assert.Contains("is not published", (await Refused(ControlError.NotFound, () => Directory.UnpublishRemoteAsync(Caller.Daemon, "vx", $"{port}:8080"))).Message);
    }

    /// <summary>A UDP spec binds its host socket like a TCP one, and lets it go when unpublished.</summary>
    [Fact]
    public async Task A_udp_port_is_bound_and_released()
    {
        await CreateAsync();
        Lease(Far, "far-box");
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        await Directory.PublishToRemoteAsync(Caller.Daemon, "vx", Far.ToString(), $"{port}:53/udp");
        Assert.Equal($"127.0.0.1:{port}:53/udp", Assert.Single(Inspect().Published!).Spec);
        using (var other = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            Assert.Equal(SocketError.AddressAlreadyInUse, Assert.Throws<SocketException>(() => other.Bind(new IPEndPoint(IPAddress.Loopback, port))).SocketErrorCode);
        await Directory.UnpublishRemoteAsync(Caller.Daemon, "vx", $"127.0.0.1:{port}:53/udp");
        using var after = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        after.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task A_guest_without_a_lease_or_a_network_without_a_nat_is_refused_with_the_reason()
    {
        await CreateAsync("internal");
        Lease(Far, "far-box");
        int port = FreePort();
        var e = await Refused(ControlError.Invalid, () => Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "far-box", $"{port}:80"));
        Assert.Contains("network 'vx' is internal: it has no NAT", e.Message);

        await Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "nat", Subnet = "10.78.0.0/24", DhcpRange = "10.78.0.100-10.78.0.110", DnsUpstreams = ["none"] });
        foreach (var to in new[] { "nobody", "10.78.0.105", "02:99:00:00:00:09" })
        {
            e = await Refused(ControlError.NotFound, () => Directory.PublishToRemoteAsync(Caller.Daemon, "nat", to, $"{port}:80"));
            Assert.Contains($"network 'nat' has no remote guest '{to}'", e.Message);
            Assert.Contains("yard network leases nat", e.Message);
        }
        Assert.Equal(ControlError.NotFound, (await Refused(ControlError.NotFound, () => Directory.PublishToRemoteAsync(Caller.Daemon, "gone", "far-box", $"{port}:80"))).Kind);
        Assert.Contains("--to", (await Refused(ControlError.Invalid, () => Directory.PublishToRemoteAsync(Caller.Daemon, "nat", " ", $"{port}:80"))).Message);
        Assert.Contains("expected [HOSTIP:]HOSTPORT:GUESTPORT", (await Refused(ControlError.Invalid, () => Directory.PublishToRemoteAsync(Caller.Daemon, "nat", "far-box", "80"))).Message);
        Assert.Empty(_store.RemotePublishedPorts("vx"));
        Assert.Empty(_store.RemotePublishedPorts("nat"));
        Assert.False(Listening(port));
    }

    [Fact]
    public async Task A_host_port_belongs_to_one_published_port_of_any_kind()
    {
        await CreateAsync();
        Lease(Far, "far-box");
        Lease(Other, "other");
        int port = FreePort();
        await Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "far-box", $"{port}:80");

        var again = await Refused(ControlError.Conflict, () => Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "far-box", $"{port}:80"));
        Assert.Contains($"is already published to remote guest {Far}", again.Message);
        var wildcard = await Refused(ControlError.Conflict, () => Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "other", $"0.0.0.0:{port}:81"));
        Assert.Contains($"already published to remote guest {Far} on network 'vx'", wildcard.Message);
        // An endpoint's publish meets the remote guest's port too.
        var endpoint = await Refused(ControlError.Conflict, () => Directory.AttachAsync(Caller.Daemon, "vx", new EndpointAttachRequest
        {
            Name = "vm", Transport = new TransportSpec { Kind = "dgram", Listen = Path.Combine(_dir.FullName, "vm.sock") }, Publish = [$"{port}:80"],
        }));
        Assert.Contains($"remote guest {Far}", endpoint.Message);
        // A port some other program holds.
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var taken = await Refused(ControlError.Conflict, () => Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "other", $"{((IPEndPoint)holder.LocalEndPoint!).Port}:80"));
        Assert.Contains("already in use", taken.Message);
        Assert.Single(_store.RemotePublishedPorts("vx"));
    }

    [Fact]
    public async Task A_mode_change_keeps_the_ports_where_a_nat_remains_and_is_refused_where_none_would()
    {
        await CreateAsync();
        Lease(Far, "far-box");
        int port = FreePort();
        await Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "far-box", $"{port}:80");

        var e = await Refused(ControlError.Conflict, () => Directory.UpdateNetworkAsync(Caller.Daemon, "vx", new NetworkUpdateRequest { Mode = "internal" }));
        Assert.Contains("published to remote guests", e.Message);
        Assert.True(Listening(port));

        await Directory.UpdateNetworkAsync(Caller.Daemon, "vx", new NetworkUpdateRequest { Mode = "host" });
        Assert.True(Listening(port), "the port did not listen again on the rebuilt network");
        Assert.Null(Assert.Single(Inspect().Published!).Error);

        // Removing the network closes its ports and forgets them.
        await Directory.DeleteNetworkAsync(Caller.Daemon, "vx");
        Assert.False(Listening(port));
        Assert.Empty(_store.RemotePublishedPorts("vx"));
    }

    [Fact]
    public async Task A_port_taken_while_the_daemon_was_down_is_shown_and_retried()
    {
        await CreateAsync();
        Lease(Far, "far-box");
        int port = FreePort();
        await Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "far-box", $"{port}:80");
        await _plane.Events.FlushAsync();
        _plane.Dispose();

        using (var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            holder.Bind(new IPEndPoint(IPAddress.Loopback, port));
            holder.Listen();
            _plane = NewPlane();
            await Directory.StartAsync(createDefault: false);
            var down = Assert.Single(Inspect().Published!);
            Assert.Contains("already in use", down.Error);
        }
        // Publishing the same spec again retries it; for another guest it is a conflict.
        Lease(Other, "other");
        Assert.Contains($"remote guest {Far}", (await Refused(ControlError.Conflict, () => Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "other", $"{port}:80"))).Message);
        await Directory.PublishToRemoteAsync(Caller.Daemon, "vx", "far-box", $"{port}:80");
        Assert.True(Listening(port));
        Assert.Null(Assert.Single(Inspect().Published!).Error);
        Assert.Single(_store.RemotePublishedPorts("vx"));
    }

    public void Dispose()
    {
        _plane.Dispose();
        _store.Dispose();
        _dir.Delete(recursive: true);
    }
}
