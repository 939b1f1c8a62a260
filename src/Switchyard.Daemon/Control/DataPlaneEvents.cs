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
/// <para>One background task drains the queue in order into <see cref="PendingWrites"/>, where a
/// later event of the same kind for the same endpoint replaces the earlier one (each write stores
/// the latest state, not a history). A write the disk refuses (full, read-only: see
/// <see cref="StateUnwritableException"/>) stays pending and is tried again after a back-off, or at
/// once when another write gets through: the disk's fault is logged once by
/// <see cref="StateWriteHealth"/>, never per frame, and the leases catch up when space returns.
/// Pending writes are bounded by the endpoints (a few per endpoint), so a stalled disk costs no
/// unbounded memory; the queue in front is bounded too, and when it is full (a writer
/// <see cref="QueueCapacity"/> events behind), events are dropped and logged rather than block a
/// packet thread, which costs only a lease's persisted state until its next renewal.</para></summary>
internal sealed class DataPlaneEvents : INetworkEvents, IDisposable
{
    public const int QueueCapacity = 4096;
    private static readonly TimeSpan QuarantineTime = TimeSpan.FromHours(1);
    private static readonly TimeSpan DeclineInterval = TimeSpan.FromMinutes(1);
    /// <summary>Retries of a refused write: the first after a second, doubling to this.</summary>
    public static readonly TimeSpan MaxRetryInterval = TimeSpan.FromSeconds(8);

    private abstract record Event(string Network, string Endpoint);
    private sealed record LeaseChanged(string Network, string Endpoint, Ipv4Address Address, LeaseState State, DateTimeOffset Expires) : Event(Network, Endpoint);
    private sealed record MacLearned(string Network, string Endpoint, MacAddress Mac) : Event(Network, Endpoint);
    private sealed record AddressDeclined(string Network, string Endpoint, Ipv4Address Declined) : Event(Network, Endpoint);
    /// <summary>Keyed by the client's MAC (it has no endpoint), so one write per remote guest is pending at most.</summary>
    private sealed record RemoteLeaseChanged(string Network, RemoteLease Lease) : Event(Network, Lease.Mac.ToString());
    private sealed record Flush(TaskCompletionSource Done) : Event("", "");
    /// <summary>Wakes a writer that waits out a back-off: another write got through, so the disk takes them again.</summary>
    private sealed record Retry() : Event("", "");

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
    /// <summary>Writes not yet stored, oldest first, one per (kind, network, endpoint); the writer's only.</summary>
    private readonly OrderedDictionary<(Type, string, string), Event> _pending = [];
    private readonly Task _writer;
    private long _dropped;
    private int _pendingCount;
    private long _flushes;

    public DataPlaneEvents(NetworkRegistry registry, IStateStore store, TimeProvider time, ILogger logger)
    {
        _registry = registry;
        _store = store;
        _time = time;
        _logger = logger;
        _store.Health.Changed += OnHealthChanged;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Events dropped because the writer was <see cref="QueueCapacity"/> behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Writes waiting for the disk (after a refused write, until it takes them again).</summary>
    public int PendingWrites => Volatile.Read(ref _pendingCount);

    void INetworkEvents.OnLeaseChanged(string network, string endpoint, Ipv4Address address, LeaseState state, DateTimeOffset expires) =>
        Enqueue(new LeaseChanged(network, endpoint, address, state, expires));

    void INetworkEvents.OnMacLearned(string network, string endpoint, MacAddress mac) => Enqueue(new MacLearned(network, endpoint, mac));

    /// <summary>The guest gets no reply to a DECLINE (RFC 2131 §4.4.4) and starts over with a
    /// DISCOVER (§3.1 step 5): by then the writer has moved it to another address (<see cref="VirtualNetwork.Reassign"/>).</summary>
    void INetworkEvents.OnAddressDeclined(string network, string endpoint, Ipv4Address declined) =>
        Enqueue(new AddressDeclined(network, endpoint, declined));

    /// <summary>A lease of the dynamic pool (a guest behind a tunnel): only bound, released and gone are
    /// stored, never offers, so DISCOVERs from made-up MACs cost no writes.</summary>
    void INetworkEvents.OnRemoteLeaseChanged(string network, RemoteLease lease)
    {
        if (lease.State != LeaseState.Offered) Enqueue(new RemoteLeaseChanged(network, lease));
    }

    private void Enqueue(Event e)
    {
        if (_queue.Writer.TryWrite(e)) return;
        // Full (or shut down): a packet thread never waits. Logged once per 1024 drops.
        if (Interlocked.Increment(ref _dropped) % 1024 == 1) DirectoryLog.EventDropped(_logger, QueueCapacity, e.GetType().Name);
    }

    /// <summary>Logs the disk's fault once when writes start failing and once when they work
    /// again, and wakes the writer then (an API write got through: no need to wait out a back-off).</summary>
    private void OnHealthChanged(StateFault? fault, string? reason)
    {
        if (fault is not null) DirectoryLog.StateUnwritable(_logger, reason ?? fault.ToString()!);
        else
        {
            DirectoryLog.StateWritableAgain(_logger, PendingWrites);
            _queue.Writer.TryWrite(new Retry());
        }
    }

    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        var retryIn = TimeSpan.FromSeconds(1);
        while (!_stopping.IsCancellationRequested)
        {
            // Nothing pending: wait for events; the queue completes at shutdown.
            if (_pending.Count == 0 && !await reader.WaitToReadAsync().ConfigureAwait(false)) return;
            Drain(reader);
            if (await TryWritePendingAsync().ConfigureAwait(false)) { retryIn = TimeSpan.FromSeconds(1); continue; }
            await BackOffAsync(reader, retryIn).ConfigureAwait(false);
            retryIn = retryIn * 2 > MaxRetryInterval ? MaxRetryInterval : retryIn * 2;
        }
    }

    /// <summary>Moves what is queued into <see cref="_pending"/>: a later event of one kind for one
    /// endpoint takes the earlier one's place (and keeps its turn); each flush keeps its own.</summary>
    private void Drain(ChannelReader<Event> reader)
    {
        while (reader.TryRead(out var e))
        {
            if (e is Retry) continue;
            var key = e is Flush ? (typeof(Flush), (++_flushes).ToString(System.Globalization.CultureInfo.InvariantCulture), "") : (e.GetType(), e.Network, e.Endpoint);
            _pending[key] = e;
        }
        Volatile.Write(ref _pendingCount, _pending.Count(p => p.Value is not Flush));
    }

    /// <summary>Writes the pending events in order; false when the disk refused one, which stays first.</summary>
    private async Task<bool> TryWritePendingAsync()
    {
        while (_pending.Count > 0)
        {
            var e = _pending.GetAt(0).Value;
            try
            {
                switch (e)
                {
                    case LeaseChanged l: WriteLease(l); break;
                    case MacLearned m: WriteMac(m); break;
                    case RemoteLeaseChanged r: WriteRemoteLease(r); break;
                    case AddressDeclined d: await MoveDeclinedAsync(d).ConfigureAwait(false); break;
                    case Flush f: f.Done.TrySetResult(); break;
                }
            }
            catch (StateUnwritableException) { return false; }   // the store's health logged it, once
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { return true; }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                DirectoryLog.EventFailed(_logger, e.GetType().Name, ex);   // the change's own fault: a retry would not cure it
            }
            _pending.RemoveAt(0);
            Volatile.Write(ref _pendingCount, _pending.Count(p => p.Value is not Flush));
        }
        return true;
    }

    /// <summary>Waits <paramref name="delay"/> (or until a write gets through elsewhere), taking
    /// in what the data plane reports meanwhile so the queue never fills behind a stalled disk.</summary>
    private async Task BackOffAsync(ChannelReader<Event> reader, TimeSpan delay)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var wait = Task.Delay(delay, _time, done.Token);
        try
        {
            while (!wait.IsCompleted)
            {
                var more = reader.WaitToReadAsync(done.Token).AsTask();
                if (await Task.WhenAny(wait, more).ConfigureAwait(false) == more && !await more.ConfigureAwait(false))
                {
                    await wait.ConfigureAwait(false);   // shutting down: the last tries wait for Dispose's deadline
                    break;
                }
                Drain(reader);
                if (_store.Health.Fault is null) break;   // another write got through
            }
        }
        catch (OperationCanceledException) { }
        finally { done.Cancel(); }
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

    private void WriteRemoteLease(RemoteLeaseChanged c)
    {
        var (network, l) = (c.Network, c.Lease);
        if (!_registry.TryGet(network, out _)) return;   // deleted meanwhile
        if (l.State == LeaseState.Declined)
        {
            _store.DeleteRemoteLease(network, l.Mac);
            return;
        }
        var status = l.State == LeaseState.Bound ? LeaseStatus.Bound : LeaseStatus.Released;
        // A client repeating REQUESTs costs no write per packet: only a change or a real renewal is stored.
        var stored = _store.RemoteLeases(network).FirstOrDefault(r => r.Mac == l.Mac);
        if (stored is not null && stored.Ipv4 == l.Address && stored.State == status && stored.HostName == l.HostName
            && (l.Expires - stored.Expires).Duration() < TimeSpan.FromSeconds(30)) return;
        _store.UpsertRemoteLease(new RemoteLeaseRow(network, l.Mac, l.Address, l.HostName, status, l.Expires, _time.GetUtcNow()));
        if (stored is null || stored.Ipv4 != l.Address || stored.State != status)
            DirectoryLog.RemoteLeaseChanged(_logger, network, l.Mac.ToString(), l.Address.ToString(), l.HostName ?? "-", StoredText.Of(status));
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
        using var gate = await _registry.EnterAsync(_stopping.Token).ConfigureAwait(false);
        if (!_registry.TryGet(network, out var net)) return;
        _store.Quarantine(network, declined, _time.GetUtcNow() + QuarantineTime);
        _lastDecline[(network, endpoint)] = now;   // after the quarantine is stored: a refused write is tried again
        var leases = _store.Leases(network);
        var quarantined = EndpointPlanner.Quarantined(_store.Quarantined(network), _time.GetUtcNow());
        if (leases.FirstOrDefault(l => l.Endpoint == endpoint) is not { } lease) return;
        Ipv4Address next;
        try { next = EndpointPlanner.Allocate(network, net.Live.Config.Subnet, leases, quarantined, _ => true, mayEvict: false, out _, net.Live.DhcpRange); }
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
    /// disk, or retrying against a full one, is given up on after a few seconds.</summary>
    public void Dispose()
    {
        _store.Health.Changed -= OnHealthChanged;
        _queue.Writer.TryComplete();
        if (!_writer.Wait(TimeSpan.FromSeconds(5))) _stopping.Cancel();
    }
}
