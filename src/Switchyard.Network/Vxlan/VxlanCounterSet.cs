namespace Switchyard.Network.Vxlan;

/// <summary>Why a datagram from the underlay, or a frame for it, was dropped (one reason each).</summary>
internal enum VxlanDrop
{
    NotAPeer,
    WrongVni,
    Malformed,
    BadFlags,
    TooBig,
    LocalSource,
}

/// <summary>The tunnel's running counts, bumped lock-free from the receive loop and any sender;
/// <see cref="Snapshot"/> turns them into the public <see cref="VxlanCounters"/>.</summary>
internal sealed class VxlanCounterSet
{
    private long _datagramsIn, _datagramsOut, _bytesIn, _bytesOut, _replicated;
    private readonly long[] _drops = new long[Enum.GetValues<VxlanDrop>().Length];

    public void In(int bytes)
    {
        Interlocked.Increment(ref _datagramsIn);
        Interlocked.Add(ref _bytesIn, bytes);
    }

    public void Out(int bytes)
    {
        Interlocked.Increment(ref _datagramsOut);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    public void Out(int datagrams, int bytes)
    {
        Interlocked.Add(ref _datagramsOut, datagrams);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    public void Replicated(int frames) => Interlocked.Add(ref _replicated, frames);

    public void Replicated() => Interlocked.Increment(ref _replicated);

    public void Drop(VxlanDrop reason) => Interlocked.Increment(ref _drops[(int)reason]);

    public void Drop(VxlanDrop reason, int count) => Interlocked.Add(ref _drops[(int)reason], count);

    public long Dropped(VxlanDrop reason) => Volatile.Read(ref _drops[(int)reason]);

    public VxlanCounters Snapshot(int learntMacs, IReadOnlyDictionary<string, long> sentPerPeer) => new(
        Volatile.Read(ref _datagramsIn), Volatile.Read(ref _datagramsOut), Volatile.Read(ref _bytesIn), Volatile.Read(ref _bytesOut),
        Dropped(VxlanDrop.NotAPeer), Dropped(VxlanDrop.WrongVni), Dropped(VxlanDrop.Malformed), Dropped(VxlanDrop.BadFlags), Dropped(VxlanDrop.TooBig),
        Volatile.Read(ref _replicated), learntMacs, sentPerPeer)
    {
        DroppedLocalSource = Dropped(VxlanDrop.LocalSource),
    };
}
