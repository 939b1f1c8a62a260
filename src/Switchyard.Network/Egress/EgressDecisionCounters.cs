using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Switchyard.Network.Egress;

/// <summary>Egress decisions by verdict and reason (the reason strings of <see cref="EgressVerdict"/>,
/// "endpoint-" prefixed for a guest's own policy). Decisions are made per new flow, query or
/// inspected name, never per frame, so a dictionary of boxed counters is cheap enough; the set of
/// reasons is small and fixed, so it does not grow without end.</summary>
public sealed class EgressDecisionCounters
{
    private readonly ConcurrentDictionary<(bool Allowed, string Reason), StrongBox<long>> _counts = new();

    internal void Count(bool allowed, string reason)
    {
        var box = _counts.GetOrAdd((allowed, reason), static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }

    /// <summary>Every (verdict, reason) seen so far and its count, ordered by verdict (allow first) then reason.</summary>
    public IReadOnlyList<(bool Allowed, string Reason, long Count)> Snapshot() =>
        [.. _counts.Select(kv => (kv.Key.Allowed, kv.Key.Reason, Interlocked.Read(ref kv.Value.Value)))
            .OrderByDescending(e => e.Allowed).ThenBy(e => e.Reason, StringComparer.Ordinal)];
}
