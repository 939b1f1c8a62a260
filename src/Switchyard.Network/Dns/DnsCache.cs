using System.Collections.Concurrent;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Dns;

/// <summary>A cache of upstream answers that honours their TTLs (RFC 1035 §7.3, RFC 2308 §5 for
/// negative answers): an entry lives for its smallest TTL, and a hit is served with TTLs reduced
/// by the time it spent here. Bounded: past <see cref="Capacity"/> entries, expired ones go first,
/// then the whole cache (simple and safe: a miss only costs one upstream round trip).</summary>
public sealed class DnsCache
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public DnsCache(TimeProvider? time = null, int capacity = 4096, TimeSpan? maxTtl = null)
    {
        _time = time ?? TimeProvider.System;
        Capacity = capacity;
        MaxTtl = maxTtl ?? TimeSpan.FromHours(1);
    }

    public int Capacity { get; }
    public TimeSpan MaxTtl { get; }
    public int Count => _entries.Count;

    private sealed record Entry(byte[] Response, DateTimeOffset Stored, DateTimeOffset Expires);

    public static string Key(in DnsQuestion q, bool dnssecOk) =>
        string.Concat(q.Name.ToLowerInvariant(), "|", ((ushort)q.Type).ToString(), "|", ((ushort)q.Class).ToString(), dnssecOk ? "|do" : "");

    /// <summary>Stores a response unless it must not be cached: errors other than NXDOMAIN,
    /// truncated answers, and answers with TTL 0.</summary>
    public void Store(string key, ReadOnlySpan<byte> response)
    {
        var reader = new DnsMessageReader(response);
        if (!reader.TryReadHeader(out var h) || h.Truncated) return;
        if (h.ResponseCode is not (DnsResponseCode.NoError or DnsResponseCode.NXDomain)) return;
        if (!DnsMessage.TryGetMinimumTtl(response, out uint ttl) || ttl == 0) return;
        var now = _time.GetUtcNow();
        var life = TimeSpan.FromSeconds(Math.Min(ttl, MaxTtl.TotalSeconds));
        if (_entries.Count >= Capacity) Trim(now);
        _entries[key] = new Entry(response.ToArray(), now, now + life);
    }

    /// <summary>Copies a live entry into <paramref name="destination"/> with the caller's id and
    /// aged TTLs; returns its length, or 0 on a miss.</summary>
    public int TryGet(string key, ushort id, Span<byte> destination)
    {
        if (!_entries.TryGetValue(key, out var e)) return 0;
        var now = _time.GetUtcNow();
        if (now >= e.Expires) { _entries.TryRemove(new(key, e)); return 0; }
        if (e.Response.Length > destination.Length) return 0;
        var d = destination[..e.Response.Length];
        e.Response.CopyTo(d);
        DnsMessage.WriteId(d, id);
        DnsMessage.TryAgeTtls(d, (uint)(now - e.Stored).TotalSeconds);
        return d.Length;
    }

    /// <summary>Forgets everything, e.g. when the upstream resolvers change.</summary>
    public void Clear() => _entries.Clear();

    private void Trim(DateTimeOffset now)
    {
        foreach (var kv in _entries)
            if (now >= kv.Value.Expires) _entries.TryRemove(kv);
        if (_entries.Count >= Capacity) _entries.Clear();
    }
}
