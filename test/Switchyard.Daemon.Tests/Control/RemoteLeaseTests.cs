using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Client;
using Switchyard.Daemon.Api.Views;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Network.Dhcp;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>The dynamic pool through the control plane: --dhcp-range is stored and kept apart from
/// endpoint addresses, pool leases (guests behind a tunnel) are stored by the data plane's writer,
/// listed, and come back after a restart with their names; a new range drops the leases outside it.
/// The DHCP server is driven directly with messages from a MAC no endpoint has, as a tunnel would bring them.</summary>
public sealed class RemoteLeaseTests : IDisposable
{
    private static readonly MacAddress Far = MacAddress.Parse("02:99:00:00:00:01");
    private static readonly Ipv4Address Gateway = Ipv4Address.Parse("10.79.0.1");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-pool-");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-03T12:00:00Z"));
    private readonly StateStore _store;
    private readonly string _resolv;
    private ControlPlane _plane;

    public RemoteLeaseTests()
    {
        _store = new StateStore(Path.Combine(_dir.FullName, "state.db"));
        _resolv = Path.Combine(_dir.FullName, "resolv.conf");
        File.WriteAllText(_resolv, "nameserver 127.0.0.53\n");
        _plane = NewPlane();
    }

    private ControlPlane NewPlane() => new(_store, new DirectoryOptions(_resolv, TimeSpan.FromHours(1)), NullLoggerFactory.Instance, _time, new EmptyHost());

    private Switchyard.Network.VirtualNetwork Live => _plane.Registry.TryGet("vx", out var net) ? net.Live : throw new InvalidOperationException("no network vx");

    /// <summary>One DHCP message from <paramref name="mac"/> to the live network's server; the reply's type and yiaddr.</summary>
    private (DhcpMessageType? Type, Ipv4Address Yiaddr) Dhcp(MacAddress mac, DhcpMessageType type, Ipv4Address? requested = null, string? hostName = null)
    {
        var request = new byte[400];
        int n = DhcpClientMessage.WriteRequest(request, type, 7, mac, Ipv4Address.Any, requested, type == DhcpMessageType.Request ? Gateway : null, [1, 3], hostName);
        var reply = new byte[600];
        int len = Live.Dhcp.Handle(request.AsSpan(0, n), mac, reply, out _);
        if (len == 0) return (null, default);
        Assert.True(DhcpMessageReader.TryParse(reply.AsSpan(0, len), out var r));
        return (r.MessageType, r.YourAddress);
    }

    private async Task CreateAsync(string? range)
    {
        await _plane.Directory.StartAsync(createDefault: false);
        await _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "vx", Mode = "internal", Subnet = "10.79.0.0/24", DhcpRange = range });
    }

    [Fact]
    public async Task A_pool_lease_is_stored_listed_and_restored_with_its_name()
    {
        await CreateAsync("10.79.0.100-10.79.0.110");
        Assert.Equal("10.79.0.100-10.79.0.110", _store.Networks().Single().DhcpRange);
        var offer = Dhcp(Far, DhcpMessageType.Discover, hostName: "far-box");
        Assert.Equal((DhcpMessageType.Offer, Ipv4Address.Parse("10.79.0.100")), offer);
        Assert.Equal(DhcpMessageType.Ack, Dhcp(Far, DhcpMessageType.Request, offer.Yiaddr, "far-box").Type);
        await _plane.Events.FlushAsync();

        var row = Assert.Single(_store.RemoteLeases("vx"));
        Assert.Equal((Far, offer.Yiaddr, "far-box", LeaseStatus.Bound), (row.Mac, row.Ipv4, row.HostName, row.State));
        // The networks run on the control plane's clock (a fake one here): the lease ends an hour from its now.
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromHours(1), row.Expires);
        var listed = Assert.Single(new EndpointViews(_plane.Registry, _store).Leases("vx"), l => l.Remote);
        Assert.Equal(("far-box", "bound", ""), (listed.HostName, listed.State, listed.Endpoint));
        var metrics = new System.Text.StringBuilder();
        new Switchyard.Daemon.Observability.DhcpCollector().Collect(new Switchyard.Daemon.Observability.PrometheusWriter(metrics),
            Switchyard.Daemon.Observability.ScrapeView.Take(_plane.Registry, _store, _time.GetUtcNow()));
        Assert.Contains("switchyard_dhcp_pool_leases{network=\"vx\"} 1\n", metrics.ToString());

        _plane.Dispose();
        _plane = NewPlane();
        await _plane.Directory.StartAsync(createDefault: false);
        Assert.True(Live.Dhcp.Pool!.TryGetAddress("far-box", out var guest));
        Assert.Equal(offer.Yiaddr, guest.Address);
        Assert.True(guest.IsBound(_time.GetUtcNow().UtcTicks));
        // The guest goes on (INIT-REBOOT) with the address it had.
        Assert.Equal((DhcpMessageType.Ack, offer.Yiaddr), Dhcp(Far, DhcpMessageType.Request, offer.Yiaddr));
    }

    [Fact]
    public async Task Endpoint_addresses_never_come_from_the_range()
    {
        await CreateAsync("10.79.0.2-10.79.0.10");
        var sock = Path.Combine(_dir.FullName, "vm.sock");
        var attached = await _plane.Directory.AttachAsync(Caller.Daemon, "vx", new EndpointAttachRequest { Name = "vm", Transport = new TransportSpec { Kind = "dgram", Listen = sock } });
        Assert.Equal(Ipv4Address.Parse("10.79.0.11"), attached.Endpoint.Config.Ipv4);
        var pinned = await Assert.ThrowsAsync<ControlException>(() => _plane.Directory.AttachAsync(Caller.Daemon, "vx",
            new EndpointAttachRequest { Name = "pin", Ip = "10.79.0.5", Transport = new TransportSpec { Kind = "dgram", Listen = sock + "2" } }));
        Assert.Equal(ControlError.Invalid, pinned.Kind);
        Assert.Contains("DHCP range 10.79.0.2-10.79.0.10", pinned.Message);
        // A range over an endpoint's reservation is refused, naming it.
        var over = await Assert.ThrowsAsync<ControlException>(() => _plane.Directory.UpdateNetworkAsync(Caller.Daemon, "vx", new NetworkUpdateRequest { DhcpRange = "10.79.0.8-10.79.0.20" }));
        Assert.Equal(ControlError.Conflict, over.Kind);
        Assert.Contains("vm (10.79.0.11)", over.Message);
        Assert.Equal("10.79.0.2-10.79.0.10", Live.DhcpRange?.ToString());
    }

    [Fact]
    public async Task A_new_range_applies_at_once_and_drops_leases_outside_it()
    {
        await CreateAsync("10.79.0.100-10.79.0.110");
        var offer = Dhcp(Far, DhcpMessageType.Discover);
        Dhcp(Far, DhcpMessageType.Request, offer.Yiaddr);
        await _plane.Events.FlushAsync();
        Assert.Single(_store.RemoteLeases("vx"));

        await _plane.Directory.UpdateNetworkAsync(Caller.Daemon, "vx", new NetworkUpdateRequest { DhcpRange = "10.79.0.200-10.79.0.210" });
        await _plane.Events.FlushAsync();
        Assert.Empty(_store.RemoteLeases("vx"));
        Assert.Equal("10.79.0.200-10.79.0.210", _store.Networks().Single().DhcpRange);
        Assert.Equal(DhcpMessageType.Nak, Dhcp(Far, DhcpMessageType.Request, offer.Yiaddr).Type);   // its renewal
        Assert.Equal((DhcpMessageType.Offer, Ipv4Address.Parse("10.79.0.200")), Dhcp(Far, DhcpMessageType.Discover));

        // Back to the default: an internal network without a tunnel has no pool.
        await _plane.Directory.UpdateNetworkAsync(Caller.Daemon, "vx", new NetworkUpdateRequest { DhcpRange = "default" });
        Assert.Null(_store.Networks().Single().DhcpRange);
        Assert.Null(Live.DhcpRange);
        Assert.Null(Dhcp(Far, DhcpMessageType.Discover).Type);
    }

    [Theory]
    [InlineData("10.79.1.1-10.79.1.5", "not inside the network's subnet")]
    [InlineData("10.79.0.1-10.79.0.5", "gateway's address")]
    [InlineData("nonsense", "is not FIRST-LAST")]
    public async Task A_bad_range_is_refused_and_nothing_is_created(string range, string error)
    {
        await _plane.Directory.StartAsync(createDefault: false);
        var e = await Assert.ThrowsAsync<ControlException>(() => _plane.Directory.CreateNetworkAsync(Caller.Daemon,
            new NetworkCreateRequest { Name = "vx", Mode = "internal", Subnet = "10.79.0.0/24", DhcpRange = range }));
        Assert.Equal(ControlError.Invalid, e.Kind);
        Assert.Contains(error, e.Message);
        Assert.Empty(_store.Networks());
    }

    [Fact]
    public async Task A_lease_acknowledged_just_before_shutdown_is_stored_without_a_flush()
    {
        // The control plane stops the data plane first and drains the events it reported last while
        // the registry still knows their network (it used to clear the registry first, and the writer
        // skipped the lease as "network deleted meanwhile").
        await CreateAsync("10.79.0.100-10.79.0.110");
        var offer = Dhcp(Far, DhcpMessageType.Discover, hostName: "late-box");
        Assert.Equal(DhcpMessageType.Ack, Dhcp(Far, DhcpMessageType.Request, offer.Yiaddr, "late-box").Type);

        _plane.Dispose();

        var row = Assert.Single(_store.RemoteLeases("vx"));
        Assert.Equal((Far, offer.Yiaddr, "late-box", LeaseStatus.Bound), (row.Mac, row.Ipv4, row.HostName, row.State));
        _plane = NewPlane();
    }

    public void Dispose()
    {
        _plane.Dispose();
        _store.Dispose();
        _dir.Delete(recursive: true);
    }
}
