using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Dhcp;
using Switchyard.Packets;

namespace Switchyard.Daemon.Control;

/// <summary>What the data plane reports (leases, learnt MACs, declined addresses), persisted by one
/// writer. The callbacks run on guests' receive threads: they only enqueue, so no SQLite call and
/// no wait for the gate ever holds up a guest's frames. The data plane does not need the writes:
/// what DHCP answers from is already in the live network (<see cref="EndpointPort"/>).
/// <para>One background task drains the queue in order, so one endpoint's lease writes are applied
/// in the order its packets came. The queue is bounded: a guest flooding DHCP cannot grow the
/// daemon without limit; when it is full, events are dropped (and logged) rather than block a
/// packet thread, which costs only a lease's persisted state until its next renewal.</para></summary>
internal sealed class DataPlaneEvents : INetworkEvents, IDisposable
{
    public const int QueueCapacity = 4096;
    private static readonly TimeSpan QuarantineTime = TimeSpan.FromHours(1);
    private static readonly TimeSpan DeclineInterval = TimeSpan.FromMinutes(1);

    private abstract record Event(string Network, string Endpoint);
    private sealed record LeaseChanged(string Network, string Endpoint, Ipv4Address Address, LeaseState State, DateTimeOffset Expires) : Event(Network, Endpoint);
    private sealed record MacLearned(string Network, string Endpoint, MacAddress Mac) : Event(Network, Endpoint);
    private sealed record AddressDeclined(string Network, string Endpoint, Ipv4Address Declined) : Event(Network, Endpoint);
    private sealed record Flush(TaskCompletionSource Done) : Event("", "");

    private readonly NetworkRegistry _registry;
    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Event> _queue = Channel.CreateBounded<Event>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite, AllowSynchronousContinuations = false,
    });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<(string, string), DateTimeOffset> _lastDecline = [];   // the writer's only
    private readonly Task _writer;
    private long _dropped;

    public DataPlaneEvents(NetworkRegistry registry, IStateStore store, TimeProvider time, ILogger logger)
    {
        _registry = registry;
        _store = store;
        _time = time;
        _logger = logger;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Events dropped because the writer was <see cref="QueueCapacity"/> behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    void INetworkEvents.OnLeaseChanged(string network, string endpoint, Ipv4Address address, LeaseState state, DateTimeOffset expires) =>
        Enqueue(new LeaseChanged(network, endpoint, address, state, expires));

    void INetworkEvents.OnMacLearned(string network, string endpoint, MacAddress mac) => Enqueue(new MacLearned(network, endpoint, mac));

    /// <summary>The guest gets no reply to a DECLINE (RFC 2131 §4.4.4) and starts over with a
    /// DISCOVER (§3.1 step 5): by then the writer has moved it to another address (<see cref="VirtualNetwork.Reassign"/>).</summary>
    void INetworkEvents.OnAddressDeclined(string network, string endpoint, Ipv4Address declined) =>
        Enqueue(new AddressDeclined(network, endpoint, declined));

    private void Enqueue(Event e)
    {
        if (_queue.Writer.TryWrite(e)) return;
        // Full (or shut down): a packet thread never waits. Logged once per 1024 drops.
        if (Interlocked.Increment(ref _dropped) % 1024 == 1) DirectoryLog.EventDropped(_logger, QueueCapacity, e.GetType().Name);
    }

    private async Task WriteAsync()
    {
        await foreach (var e in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                switch (e)
                {
                    case LeaseChanged l: WriteLease(l); break;
                    case MacLearned m: WriteMac(m); break;
                    case AddressDeclined d: await MoveDeclinedAsync(d).ConfigureAwait(false); break;
                    case Flush f: f.Done.TrySetResult(); break;
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                DirectoryLog.EventFailed(_logger, e.GetType().Name, ex);
            }
        }
    }

    private void WriteLease(LeaseChanged c)
    {
        var (network, endpoint, address, state, expires) = (c.Network, c.Endpoint, c.Address, c.State, c.Expires);
        var lease = _store.Leases(network).FirstOrDefault(l => l.Endpoint == endpoint);
        if (lease is null) return;
        bool bridged = _registry.TryGet(network, out var net) && net.Mode == NetworkMode.Bridged;
        if (bridged && lease.Ipv4 != address)
        {
            // A bridged endpoint's row holds the address the LAN's DHCP server gave it (our IPAM has
            // no say there), so a restart can let it go on using that address.
            try { _store.UpsertLease(lease with { Ipv4 = address, State = LeaseStatus.Bound, Expires = expires, LastUsed = _time.GetUtcNow() }); }
            catch (Microsoft.Data.Sqlite.SqliteException) { return; }   // another endpoint's row holds it: the LAN gave it twice
            DirectoryLog.LeaseChanged(_logger, network, endpoint, address.ToString(), "bound by the LAN");
            return;
        }
        if (lease.Ipv4 != address) return;
        LeaseStatus status;
        switch (state)
        {
            case LeaseState.Offered: status = LeaseStatus.Offered; break;
            case LeaseState.Bound: status = LeaseStatus.Bound; break;
            case LeaseState.Released: status = LeaseStatus.Released; break;
            default: return;
        }
        if (lease.State == status && status == LeaseStatus.Offered) return;
        // A client repeating REQUESTs costs no write per packet: only a changed state or a real renewal is stored.
        if (lease.State == status && lease.Expires is { } stored && (expires - stored).Duration() < TimeSpan.FromSeconds(30)) return;
        _store.UpsertLease(lease with { State = status, Expires = expires, LastUsed = _time.GetUtcNow() });
        if (status is LeaseStatus.Bound or LeaseStatus.Released) DirectoryLog.LeaseChanged(_logger, network, endpoint, address.ToString(), StoredText.Of(status));
    }

    private void WriteMac(MacLearned m)
    {
        var (network, endpoint, mac) = (m.Network, m.Endpoint, m.Mac);
        if (!_registry.TryGetEndpoint(network, endpoint, out var found)) return;
        var (net, e) = found;
        _registry.Write(() => e.Config = e.Config with { Mac = mac });
        var leases = _store.Leases(network);
        var lease = leases.FirstOrDefault(l => l.Endpoint == endpoint);
        if (lease is null || lease.Mac == mac) return;
        // The VM's MAC identifies it to DHCP: a detached reservation holding the same MAC was this
        // VM under another name, and gives way; an attached one is a real clash, logged.
        var holder = leases.FirstOrDefault(l => l.Endpoint != endpoint && l.Mac == mac);
        if (holder is not null)
        {
            if (_registry.Read(() => net.Endpoints.ContainsKey(holder.Endpoint)))
            {
                DirectoryLog.MacClash(_logger, network, endpoint, mac.ToString(), holder.Endpoint);
                return;
            }
            _store.DeleteLease(network, holder.Endpoint);
        }
        _store.UpsertLease(lease with { Mac = mac, LastUsed = _time.GetUtcNow() });
        DirectoryLog.MacLearned(_logger, network, endpoint, mac.ToString());
    }

    /// <summary>Quarantines a declined address and moves the endpoint to the next free one, under
    /// the gate like any change of reservations. One move per endpoint per minute: a guest declining
    /// in a loop cannot quarantine the subnet away.</summary>
    private async Task MoveDeclinedAsync(AddressDeclined d)
    {
        var (network, endpoint, declined) = (d.Network, d.Endpoint, d.Declined);
        var now = _time.GetUtcNow();
        if (_lastDecline.TryGetValue((network, endpoint), out var last) && now - last < DeclineInterval) return;
        _lastDecline[(network, endpoint)] = now;
        using var gate = await _registry.EnterAsync(_stopping.Token).ConfigureAwait(false);
        if (!_registry.TryGet(network, out var net)) return;
        _store.Quarantine(network, declined, _time.GetUtcNow() + QuarantineTime);
        var leases = _store.Leases(network);
        var quarantined = EndpointPlanner.Quarantined(_store.Quarantined(network), _time.GetUtcNow());
        if (leases.FirstOrDefault(l => l.Endpoint == endpoint) is not { } lease) return;
        Ipv4Address next;
        try { next = EndpointPlanner.Allocate(network, net.Live.Config.Subnet, leases, quarantined, _ => true, mayEvict: false, out _); }
        catch (ControlException) { return; }   // the subnet has no address left: the guest keeps asking for the declined one
        _store.UpsertLease(lease with { Ipv4 = next, State = LeaseStatus.Reserved, Expires = null, LastUsed = _time.GetUtcNow() });
        if (_registry.TryGetEndpoint(network, endpoint, out var found))
            _registry.Write(() => found.Endpoint.Config = found.Endpoint.Config with { Ipv4 = next });
        net.Live.Reassign(endpoint, next);
        DirectoryLog.AddressDeclined(_logger, network, endpoint, declined.ToString(), next.ToString());
    }

    /// <summary>Waits until every queued event is written, for tests and shutdown.</summary>
    public async Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (!_queue.Writer.TryWrite(new Flush(done)))
            await Task.Delay(10).ConfigureAwait(false);
        await done.Task.ConfigureAwait(false);
    }

    /// <summary>Drains the queue: the data plane is stopped first (the directory's dispose), so
    /// what it reported last is stored before the state store closes. A writer stuck on a hung
    /// disk is given up on after a few seconds.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (!_writer.Wait(TimeSpan.FromSeconds(5))) _stopping.Cancel();
    }
}
