using Switchyard.Network.Nat;

namespace Switchyard.Network;

/// <summary>
/// The daemon's file descriptors for NAT flows, shared by every network. The daemon raises its soft
/// <c>RLIMIT_NOFILE</c> to the hard limit at start and builds one budget of that limit less a
/// <see cref="Reserve"/> for what must never fail for want of a descriptor: the API socket and its
/// connections, the state database, DNS forwarding, transports, the resolver watch, /proc reads of the
/// NAT's housekeeping. A new flow takes a descriptor from the budget before it opens its socket and
/// gives it back when the socket closes; when none is left it is refused (RST or ICMP) instead of
/// meeting EMFILE, so the daemon stops well before the kernel's limit. One network may hold at most
/// <see cref="NetworkShare"/> (half the budget), so one network cannot starve the others.
/// </summary>
public sealed class FdBudget
{
    private int _used;

    /// <param name="limit">The process's open file limit (the soft <c>RLIMIT_NOFILE</c>).</param>
    /// <param name="reserve">Descriptors kept back from NAT flows; default <see cref="DefaultReserve"/>.</param>
    public FdBudget(long limit, int? reserve = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        Limit = limit;
        Reserve = reserve ?? DefaultReserve(limit);
        Capacity = (int)Math.Clamp(limit - Reserve, 0, int.MaxValue);
    }

    /// <summary>No limit worth counting: for tests and networks built without a daemon.</summary>
    public static FdBudget Unlimited { get; } = new(int.MaxValue, 0);

    /// <summary>A tenth of the limit, at least 128 and at most 4096: a daemon at the default 1024
    /// keeps 128, one at 65536 keeps 4096 (more guests, more transports and API connections).</summary>
    public static int DefaultReserve(long limit) => (int)Math.Clamp(limit / 10, 128, 4096);

    public long Limit { get; }
    public int Reserve { get; }

    /// <summary>Descriptors NAT flows may hold, every network together.</summary>
    public int Capacity { get; }

    /// <summary>The most one network's NAT may hold: half the budget.</summary>
    public int NetworkShare => Math.Max(1, Capacity / 2);

    public int Used => Volatile.Read(ref _used);

    /// <summary>Takes a descriptor for a new flow; false when the budget is spent.</summary>
    public bool TryTake() => Bounded.TryIncrement(ref _used, Capacity);

    public void Return() => Interlocked.Decrement(ref _used);
}
