using System.Collections.Concurrent;
using Switchyard.Packets;

namespace Switchyard.Network.Vxlan;

/// <summary>Which remote VTEP each remote MAC sits behind, learnt from the inner source MAC of what
/// peers send (RFC 7348 section 4.1: "the association of VM's MAC to VTEP's IP address is
/// discovered via source-address learning"), aged after <see cref="AgingTime"/> without a frame,
/// like an 802.1D filtering database. Learnt on the receive loop, read by any sender; neither takes
/// a lock, and refreshing a known MAC allocates nothing (the entry is updated in place).</summary>
internal sealed class VtepTable
{
    /// <summary>IEEE 802.1D's default ageing time, also the Linux vxlan device's (ageing 300).</summary>
    public static readonly TimeSpan DefaultAgingTime = TimeSpan.FromSeconds(300);

    /// <summary>A bound on what peers can make us remember: past it, new MACs are not learnt (their
    /// frames are still replicated, so nothing breaks; it only costs bandwidth).</summary>
    public const int DefaultCapacity = 16384;

    private readonly ConcurrentDictionary<MacAddress, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly long _agingTicks;
    private readonly int _capacity;

    public VtepTable(TimeProvider time, TimeSpan agingTime, int capacity = DefaultCapacity)
    {
        _time = time;
        AgingTime = agingTime;
        _agingTicks = (long)(agingTime.TotalSeconds * time.TimestampFrequency);
        _capacity = capacity;
    }

    public TimeSpan AgingTime { get; }

    /// <summary>Notes that <paramref name="mac"/> (a unicast source) was just seen behind <paramref name="peer"/>.</summary>
    public void Learn(MacAddress mac, VxlanPeer peer) => Learn(mac, peer, _time.GetTimestamp());

    /// <summary>As <see cref="Learn(MacAddress, VxlanPeer)"/>, at <paramref name="now"/> (a
    /// timestamp of the table's clock: the receive loop reads it once per receive call, not per datagram).</summary>
    public void Learn(MacAddress mac, VxlanPeer peer, long now)
    {
        if (_entries.TryGetValue(mac, out var entry))
        {
            // A MAC that moved to another host (a migrated VM) follows at its first frame.
            if (entry.Peer != peer) entry.Peer = peer;
            Volatile.Write(ref entry.LastSeen, now);
            return;
        }
        if (_entries.Count >= _capacity)
        {
            Sweep();
            if (_entries.Count >= _capacity) return;
        }
        _entries.TryAdd(mac, new Entry(peer, now));
    }

    /// <summary>The live VTEP of <paramref name="mac"/>, or null (unknown, aged out or its peer removed).</summary>
    public VxlanPeer? Lookup(MacAddress mac)
    {
        if (!_entries.TryGetValue(mac, out var entry)) return null;
        var peer = entry.Peer;
        if (peer.Removed || _time.GetTimestamp() - Volatile.Read(ref entry.LastSeen) >= _agingTicks) return null;
        return peer;
    }

    /// <summary>Live entries (inspect).</summary>
    public int Count
    {
        get
        {
            long now = _time.GetTimestamp();
            int n = 0;
            foreach (var e in _entries)
                if (!e.Value.Peer.Removed && now - Volatile.Read(ref e.Value.LastSeen) < _agingTicks) n++;
            return n;
        }
    }

    /// <summary>Drops aged entries and those behind removed peers (called now and then, off the frame path).</summary>
    public void Sweep()
    {
        long now = _time.GetTimestamp();
        foreach (var e in _entries)
            if (e.Value.Peer.Removed || now - Volatile.Read(ref e.Value.LastSeen) >= _agingTicks)
                _entries.TryRemove(e);
    }

    private sealed class Entry(VxlanPeer peer, long lastSeen)
    {
        public volatile VxlanPeer Peer = peer;
        public long LastSeen = lastSeen;
    }
}
