using System.Runtime.ExceptionServices;

namespace Switchyard.Network.Switching;

/// <summary>Work that waits for the end of a receive burst: the frames a port's receive thread read
/// back to back, without sleeping in between. Handled one at a time, each may leave something that
/// is only worth doing once for all of them (a TCP ACK for several data segments of one flow, as
/// Linux's GRO hands a receiver several segments as one); the thread runs it when its device's
/// queue is empty, or after <see cref="Budget"/> frames so a sender that never pauses is still
/// answered. Per thread: a thread that never opens a burst (timers, socket completions, transports
/// that do not drain a queue) gets <c>false</c> from <see cref="TryDefer"/> and does the work at once.
/// Allocates nothing per frame: the list of waiting work is the thread's, and only grows.</summary>
internal static class ReceiveBurst
{
    /// <summary>The most frames one burst handles before its deferred work runs (Linux's NAPI
    /// budget is 64 as well: the same trade of latency against batching).</summary>
    public const int Budget = 64;

    [ThreadStatic] private static bool t_open;
    [ThreadStatic] private static List<IBurstWork>? t_waiting;

    /// <summary>Whether this thread is inside a burst (between <see cref="Begin"/> and <see cref="End"/>).</summary>
    public static bool IsOpen => t_open;

    /// <summary>The receive thread is about to read its device's queue.</summary>
    public static void Begin() => t_open = true;

    /// <summary>Queues <paramref name="work"/> for the end of this thread's burst; false (nothing
    /// queued) when this thread is not in one, and the caller does the work now. The caller keeps
    /// <paramref name="work"/> from being queued twice in one burst.</summary>
    public static bool TryDefer(IBurstWork work)
    {
        if (!t_open) return false;
        (t_waiting ??= new List<IBurstWork>(16)).Add(work);
        return true;
    }

    /// <summary>Ends the burst and runs what waited, in the order it was queued. The burst is closed
    /// first, so the work runs as outside one; an exception from one item still leaves the rest run
    /// and the list empty, then surfaces (the first one) to the receive loop, which logs it.</summary>
    public static void End()
    {
        t_open = false;
        var waiting = t_waiting;
        if (waiting is null || waiting.Count == 0) return;
        Exception? failed = null;
        for (int i = 0; i < waiting.Count; i++)
        {
            try { waiting[i].OnBurstEnd(); }
            catch (Exception e) { failed ??= e; }
        }
        waiting.Clear();
        if (failed is not null) ExceptionDispatchInfo.Throw(failed);
    }
}

/// <summary>Something queued with <see cref="ReceiveBurst.TryDefer"/>.</summary>
internal interface IBurstWork
{
    /// <summary>Runs on the receive thread once its burst ended.</summary>
    void OnBurstEnd();
}
