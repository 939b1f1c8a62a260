namespace Switchyard.Daemon.Control;

/// <summary>The live networks by name, and the two locks that guard them. The rule, here and
/// nowhere else:
/// <list type="number">
/// <item>Every change (a network, an endpoint, a published port, an egress edit, a declined
/// address moved) holds the <b>gate</b> (<see cref="EnterAsync"/>) from its first check to its
/// last write, so changes see each other's results whole and may do slow work while holding it
/// (SQLite, transports, host ports). Nothing on a packet thread ever takes the gate.</item>
/// <item>The in-memory maps (the networks, a network's endpoints, an endpoint's published ports
/// and records' mutable fields) are also read without the gate: by API reads, the data-plane
/// writer and resolver changes. Such reads go through <see cref="Read{T}"/>; every change of
/// those maps goes through <see cref="Write"/> (while holding the gate). The <b>lock</b> is held
/// for the copy or the change itself only, never around I/O, and the gate is always taken first.</item>
/// </list></summary>
internal sealed class NetworkRegistry(TimeSpan gateTimeout)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, NetworkRecord> _networks = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>How long a change waits for another one to finish before it gives up.</summary>
    public TimeSpan GateTimeout { get; } = gateTimeout;

    /// <summary>Takes the gate for a change; dispose the result to let the next one in. Waits at
    /// most <see cref="GateTimeout"/> (a change stuck on a hung disk must not hang every later
    /// call): then <see cref="ControlError.Busy"/>.</summary>
    public async Task<IDisposable> EnterAsync()
    {
        if (!await _gate.WaitAsync(GateTimeout).ConfigureAwait(false))
            throw new ControlException(ControlError.Busy, $"the daemon is busy with another change (waited {GateTimeout.TotalSeconds:0.#} s); try again");
        return new Release(_gate);
    }

    /// <summary>The gate for the data-plane writer, which waits as long as it takes (or until shutdown).</summary>
    public async Task<IDisposable> EnterAsync(CancellationToken cancel)
    {
        await _gate.WaitAsync(cancel).ConfigureAwait(false);
        return new Release(_gate);
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) gate.Release(); }
    }

    public T Read<T>(Func<T> read)
    {
        lock (_lock) return read();
    }

    public void Write(Action write)
    {
        lock (_lock) write();
    }

    public int Count { get { lock (_lock) return _networks.Count; } }
    public int EndpointCount { get { lock (_lock) return _networks.Values.Sum(n => n.Endpoints.Count); } }

    public List<NetworkRecord> Snapshot() { lock (_lock) return [.. _networks.Values]; }

    public bool TryGet(string name, out NetworkRecord net) { lock (_lock) return _networks.TryGetValue(name, out net!); }

    public NetworkRecord Find(string name) =>
        TryGet(name, out var n) ? n : throw ControlException.NotFound($"network '{name}' does not exist");

    public EndpointRef FindEndpoint(string network, string name)
    {
        var net = Find(network);
        lock (_lock)
            return net.Endpoints.TryGetValue(name, out var e) ? new(net, e)
                : throw ControlException.NotFound($"endpoint '{name}' is not attached to network '{network}'");
    }

    public bool TryGetEndpoint(string network, string name, out EndpointRef found)
    {
        lock (_lock)
        {
            found = default;
            if (!_networks.TryGetValue(network, out var net) || !net.Endpoints.TryGetValue(name, out var e)) return false;
            found = new(net, e);
            return true;
        }
    }

    public void Set(NetworkRecord net) { lock (_lock) _networks[net.Row.Name] = net; }
    public void Remove(string name) { lock (_lock) _networks.Remove(name); }

    /// <summary>Takes every network out (shutdown).</summary>
    public List<NetworkRecord> Clear()
    {
        lock (_lock)
        {
            var all = _networks.Values.ToList();
            _networks.Clear();
            return all;
        }
    }
}
