using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Client;
using Switchyard.Daemon.Api.Views;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>The data plane does not wait on the disk: with every state write hanging, a guest
/// still gets its address by DHCP, reads of the API answer from memory, and a change that would
/// wait behind a stuck one gives up after the gate timeout with a clear error (503 at the API)
/// instead of hanging. What was queued meanwhile is written, in order, once the disk answers.</summary>
public sealed class BlockedStoreTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);   // generous: a slow machine, not a timer under test
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-blocked-");
    private readonly StateStore _inner;
    private readonly BlockingStore _store;
    private readonly ControlPlane _plane;

    public BlockedStoreTests()
    {
        _inner = new StateStore(Path.Combine(_dir.FullName, "state.db"));
        _store = new BlockingStore(_inner);
        var resolv = Path.Combine(_dir.FullName, "resolv.conf");
        File.WriteAllText(resolv, "nameserver 127.0.0.53\n");
        _plane = new ControlPlane(_store, new DirectoryOptions(resolv, TimeSpan.FromHours(1)) { GateTimeout = TimeSpan.FromSeconds(1) },
            NullLoggerFactory.Instance, host: new EmptyHost());
    }

    [Fact]
    public async Task Dhcp_completes_and_the_api_answers_while_writes_hang()
    {
        await _plane.Directory.StartAsync(createDefault: false);
        await _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "blk", Mode = "internal", Subnet = "10.77.0.0/24" });
        string daemonPath = Path.Combine(_dir.FullName, "vm.sock");
        await _plane.Directory.AttachAsync(Caller.Daemon, "blk", new EndpointAttachRequest { Name = "vm", Transport = new TransportSpec { Kind = "dgram", Listen = daemonPath } });
        var endpoints = new EndpointViews(_plane.Registry, _store);
        var reserved = Ipv4Address.Parse(endpoints.Get("blk", "vm").Ipv4!);

        _store.Block();
        // The VM's own MAC (learnt from its first frame) and a full DISCOVER/OFFER/REQUEST/ACK.
        using var guest = new DhcpGuest(Path.Combine(_dir.FullName, "guest.sock"), daemonPath, MacAddress.Parse("02:42:00:00:00:07"));
        guest.Send(DhcpMessageType.Discover, 1);
        var offered = await guest.ReceiveAsync(DhcpMessageType.Offer, 1, Bound);
        Assert.Equal(reserved, offered);
        guest.Send(DhcpMessageType.Request, 2, requested: offered, serverId: Ipv4Address.Parse("10.77.0.1"));
        Assert.Equal(offered, await guest.ReceiveAsync(DhcpMessageType.Ack, 2, Bound));
        // The writer (a task of its own) gets to the queued events and hangs on the store.
        var until = DateTime.UtcNow + Bound;
        while (_store.Waiting == 0 && DateTime.UtcNow < until) await Task.Delay(10);
        Assert.True(_store.Waiting > 0, "the writer should be stuck on the store meanwhile");

        // Reads answer from memory (and the store's reads), not from the queued writes.
        Assert.Equal("blk", new NetworkViews(_plane.Registry).Get("blk").Name);
        var shown = endpoints.Get("blk", "vm");
        Assert.Equal("02:42:00:00:00:07", shown.Mac);   // the live port's learnt MAC
        Assert.Equal("reserved", shown.Lease!.State);    // the ACK is not written yet

        // A change stuck on the disk holds the gate; the next one gives up with a clear error.
        // (On a thread of its own: a change runs synchronously up to its first wait, here the store.)
        int waiting = _store.Waiting;
        var stuck = Task.Run(() => _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "stuck", Mode = "internal", Subnet = "10.78.0.0/24" }));
        var deadline = DateTime.UtcNow + Bound;
        while (_store.Waiting <= waiting && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.True(_store.Waiting > waiting, "the create should be stuck on the store");
        var busy = await Assert.ThrowsAsync<ControlException>(() =>
            _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "later", Mode = "internal", Subnet = "10.79.0.0/24" }));
        Assert.Equal(ControlError.Busy, busy.Kind);
        Assert.Contains("busy with another change", busy.Message);
        Assert.False(stuck.IsCompleted);

        _store.Unblock();
        await stuck.WaitAsync(Bound);
        await _plane.Events.FlushAsync().WaitAsync(Bound);
        var lease = endpoints.Get("blk", "vm").Lease!;
        Assert.Equal("bound", lease.State);
        Assert.Equal("02:42:00:00:00:07", lease.Mac);
    }

    [Fact]
    public async Task A_declined_address_is_replaced_by_the_writer_and_offered_at_the_next_discover()
    {
        await _plane.Directory.StartAsync(createDefault: false);
        await _plane.Directory.CreateNetworkAsync(Caller.Daemon, new NetworkCreateRequest { Name = "dec", Mode = "internal", Subnet = "10.77.0.0/24" });
        string daemonPath = Path.Combine(_dir.FullName, "vm.sock");
        await _plane.Directory.AttachAsync(Caller.Daemon, "dec", new EndpointAttachRequest
        {
            Name = "vm", Mac = "02:42:00:00:00:08", Transport = new TransportSpec { Kind = "dgram", Listen = daemonPath },
        });
        using var guest = new DhcpGuest(Path.Combine(_dir.FullName, "guest.sock"), daemonPath, MacAddress.Parse("02:42:00:00:00:08"));
        guest.Send(DhcpMessageType.Discover, 1);
        var first = await guest.ReceiveAsync(DhcpMessageType.Offer, 1, Bound);

        guest.Send(DhcpMessageType.Decline, 2, requested: first, serverId: Ipv4Address.Parse("10.77.0.1"));
        // The DECLINE gets no reply: wait (bounded) for its observable result, the endpoint's new address.
        var endpoints = new EndpointViews(_plane.Registry, _store);
        var moved = first;
        var deadline = DateTime.UtcNow + Bound;
        while (moved == first && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            moved = Ipv4Address.Parse(endpoints.Get("dec", "vm").Ipv4!);
        }
        Assert.NotEqual(first, moved);
        await _plane.Events.FlushAsync().WaitAsync(Bound);
        Assert.Contains(_inner.Quarantined("dec"), q => q.Ipv4 == first);

        guest.Send(DhcpMessageType.Discover, 3);
        Assert.Equal(moved, await guest.ReceiveAsync(DhcpMessageType.Offer, 3, Bound));
    }

    public void Dispose()
    {
        _store.Unblock();
        _plane.Dispose();
        _store.Dispose();
        _dir.Delete(recursive: true);
    }
}
