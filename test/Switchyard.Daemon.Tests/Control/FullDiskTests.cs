using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Client;
using Switchyard.Daemon.Api.Views;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Network;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>A full state directory (issue 16, finding 4): DHCP answers from memory, the refused
/// lease writes wait and are retried (the disk's fault logged once, not per frame), changes
/// through the control plane are refused with the reason, and the leases are stored once the
/// disk takes writes again.</summary>
public sealed class FullDiskTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);   // generous: a slow machine, not a timer under test
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-full-");
    private readonly StateStore _inner;
    private readonly FullStore _store;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-06-01T00:00:00Z"));
    private readonly Captured _log = new();
    private readonly ControlPlane _plane;

    public FullDiskTests()
    {
        _inner = new StateStore(Path.Combine(_dir.FullName, "state.db"));
        _store = new FullStore(_inner);
        var resolv = Path.Combine(_dir.FullName, "resolv.conf");
        File.WriteAllText(resolv, "nameserver 127.0.0.53\n");
        _plane = new ControlPlane(_store, new DirectoryOptions(resolv, TimeSpan.FromHours(1)), _log, _time, new EmptyHost());
    }

    [Fact]
    public async Task Dhcp_answers_on_a_full_disk_and_the_lease_is_stored_when_space_returns()
    {
        await _plane.Directory.StartAsync(createDefault: false);
        await _plane.Directory.CreateNetworkAsync(new NetworkCreateRequest { Name = "full", Mode = "internal", Subnet = "10.77.0.0/24" });
        string daemonPath = Path.Combine(_dir.FullName, "vm.sock");
        var mac = MacAddress.Parse("02:42:00:00:00:09");
        await _plane.Directory.AttachAsync("full", new EndpointAttachRequest { Name = "vm", Mac = mac.ToString(), Transport = new TransportSpec { Kind = "dgram", Listen = daemonPath } });
        var endpoints = new EndpointViews(_plane.Registry, _store);

        _store.Full = true;
        using var guest = new DhcpGuest(Path.Combine(_dir.FullName, "guest.sock"), daemonPath, mac);
        var server = Ipv4Address.Parse("10.77.0.1");
        // Three whole exchanges (a guest that reboots, or retries): each is answered from memory.
        for (uint xid = 1; xid <= 6; xid += 2)
        {
            guest.Send(DhcpMessageType.Discover, xid);
            var offered = await guest.ReceiveAsync(DhcpMessageType.Offer, xid, Bound);
            guest.Send(DhcpMessageType.Request, xid + 1, requested: offered, serverId: server);
            Assert.Equal(offered, await guest.ReceiveAsync(DhcpMessageType.Ack, xid + 1, Bound));
        }
        await Until(() => _store.Refused > 0 && _plane.Events.PendingWrites > 0, "the writer should have tried and kept the lease pending");
        Assert.Equal(LeaseStatus.Reserved, _inner.Leases("full").Single().State);   // nothing of the exchanges is stored
        Assert.Equal(StateFault.Full, _store.Health.Fault);

        // A change through the control plane is refused with the reason and leaves nothing behind.
        var refused = await Assert.ThrowsAsync<StateUnwritableException>(() =>
            _plane.Directory.CreateNetworkAsync(new NetworkCreateRequest { Name = "later", Mode = "internal", Subnet = "10.78.0.0/24" }));
        Assert.Equal(StateFault.Full, refused.Fault);
        Assert.Contains($"the state directory {_dir.FullName} is full", refused.Message);
        Assert.False(_plane.Registry.TryGet("later", out _));
        // Retries back off on the clock; each fails, none is logged again.
        for (int i = 0; i < 4; i++) { _time.Advance(DataPlaneEvents.MaxRetryInterval); await Task.Delay(50); }
        Assert.Equal(1, _log.Count(LogEvents.StateUnwritable));
        Assert.Equal(0, _log.Count(LogEvents.DataPlaneEventFailed));

        _store.Full = false;
        // The next retry (the clock moved on in steps: however far the writer is into its back-off) stores it.
        await Until(() => { _time.Advance(TimeSpan.FromSeconds(1)); return _plane.Events.PendingWrites == 0; },
            "the pending lease should be written once the disk takes writes");
        await _plane.Events.FlushAsync().WaitAsync(Bound);
        var lease = _inner.Leases("full").Single();
        Assert.Equal(LeaseStatus.Bound, lease.State);
        Assert.Equal(mac, lease.Mac);
        Assert.Equal("bound", endpoints.Get("full", "vm").Lease!.State);
        Assert.Null(_store.Health.Fault);
        Assert.Equal(1, _log.Count(LogEvents.StateUnwritable));
        Assert.Equal(1, _log.Count(LogEvents.StateWritableAgain));
    }

    [Fact]
    public async Task A_write_that_gets_through_wakes_the_writer_before_its_back_off_ends()
    {
        await _plane.Directory.StartAsync(createDefault: false);
        await _plane.Directory.CreateNetworkAsync(new NetworkCreateRequest { Name = "wake", Mode = "internal", Subnet = "10.77.0.0/24" });
        string daemonPath = Path.Combine(_dir.FullName, "vm.sock");
        var mac = MacAddress.Parse("02:42:00:00:00:0a");
        await _plane.Directory.AttachAsync("wake", new EndpointAttachRequest { Name = "vm", Mac = mac.ToString(), Transport = new TransportSpec { Kind = "dgram", Listen = daemonPath } });
        _store.Full = true;
        using var guest = new DhcpGuest(Path.Combine(_dir.FullName, "guest.sock"), daemonPath, mac);
        guest.Send(DhcpMessageType.Discover, 1);
        var offered = await guest.ReceiveAsync(DhcpMessageType.Offer, 1, Bound);
        guest.Send(DhcpMessageType.Request, 2, requested: offered, serverId: Ipv4Address.Parse("10.77.0.1"));
        await guest.ReceiveAsync(DhcpMessageType.Ack, 2, Bound);
        await Until(() => _plane.Events.PendingWrites > 0, "the lease write should wait");

        _store.Full = false;
        // No clock advance: the API's write tells the writer the disk is back.
        await _plane.Directory.CreateNetworkAsync(new NetworkCreateRequest { Name = "other", Mode = "internal", Subnet = "10.78.0.0/24" });
        await Until(() => _plane.Events.PendingWrites == 0, "the write that got through should wake the writer");
        Assert.Equal(LeaseStatus.Bound, _inner.Leases("wake").Single().State);
    }

    [Fact]
    public async Task An_attach_or_detach_the_disk_refuses_changes_nothing_live()
    {
        await _plane.Directory.StartAsync(createDefault: false);
        await _plane.Directory.CreateNetworkAsync(new NetworkCreateRequest { Name = "keep", Mode = "internal", Subnet = "10.77.0.0/24" });
        string daemonPath = Path.Combine(_dir.FullName, "vm.sock");
        var mac = MacAddress.Parse("02:42:00:00:00:0b");
        await _plane.Directory.AttachAsync("keep", new EndpointAttachRequest { Name = "vm", Mac = mac.ToString(), Transport = new TransportSpec { Kind = "dgram", Listen = daemonPath } });
        _store.Full = true;

        // A new endpoint: refused whole, its socket not left bound.
        string otherPath = Path.Combine(_dir.FullName, "other.sock");
        await Assert.ThrowsAsync<StateUnwritableException>(() => _plane.Directory.AttachAsync("keep",
            new EndpointAttachRequest { Name = "other", Transport = new TransportSpec { Kind = "dgram", Listen = otherPath } }));
        Assert.False(_plane.Registry.TryGetEndpoint("keep", "other", out _));
        Assert.False(File.Exists(otherPath));
        // A detach: refused, and the endpoint goes on working (DHCP answers it).
        await Assert.ThrowsAsync<StateUnwritableException>(() => _plane.Directory.DetachAsync("keep", "vm"));
        Assert.True(_plane.Registry.TryGetEndpoint("keep", "vm", out _));
        using var guest = new DhcpGuest(Path.Combine(_dir.FullName, "guest.sock"), daemonPath, mac);
        guest.Send(DhcpMessageType.Discover, 1);
        await guest.ReceiveAsync(DhcpMessageType.Offer, 1, Bound);

        // Once the disk takes writes, the same detach goes through.
        _store.Full = false;
        await _plane.Directory.DetachAsync("keep", "vm");
        Assert.Empty(_inner.Endpoints("keep"));
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(condition(), what);
    }

    public void Dispose()
    {
        _store.Full = false;
        _plane.Dispose();
        _store.Dispose();
        _dir.Delete(recursive: true);
    }

    /// <summary>Log entries by event id.</summary>
    private sealed class Captured : ILoggerFactory, ILogger
    {
        private readonly ConcurrentDictionary<int, int> _counts = new();
        public int Count(int eventId) => _counts.TryGetValue(eventId, out var n) ? n : 0;
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _counts.AddOrUpdate(eventId.Id, 1, (_, n) => n + 1);
    }
}
