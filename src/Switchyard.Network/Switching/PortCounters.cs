namespace Switchyard.Network.Switching;

/// <summary>Why the switch dropped a frame. The names are the keys of the counters in the API.</summary>
public enum DropReason
{
    /// <summary>Too short, or a header that does not parse.</summary>
    Malformed,
    /// <summary>Source MAC is not the port's own (anti-spoofing).</summary>
    SpoofedMac,
    /// <summary>Source IP is not one the port was assigned (anti-spoofing).</summary>
    SpoofedIp,
    /// <summary>Larger than the network's MTU allows.</summary>
    Oversize,
    /// <summary>The destination port could not take the frame (queue full, peer gone).</summary>
    TransmitFailed,
    /// <summary>The network's mode or policy does not allow this traffic.</summary>
    Policy,
}

/// <summary>Per-port traffic counters. "In" is from the guest into the switch, "out" is from the
/// switch to the guest. Updated with interlocked adds: a port receives on its own thread but is
/// transmitted to from every other port's thread.</summary>
public sealed class PortCounters
{
    private long _framesIn, _bytesIn, _framesOut, _bytesOut;
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    public long FramesIn => Volatile.Read(ref _framesIn);
    public long BytesIn => Volatile.Read(ref _bytesIn);
    public long FramesOut => Volatile.Read(ref _framesOut);
    public long BytesOut => Volatile.Read(ref _bytesOut);
    public long Dropped(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);
    public long DroppedTotal { get { long t = 0; for (int i = 0; i < _drops.Length; i++) t += Volatile.Read(ref _drops[i]); return t; } }

    public void CountIn(int bytes) { Interlocked.Increment(ref _framesIn); Interlocked.Add(ref _bytesIn, bytes); }
    public void CountOut(int bytes) { Interlocked.Increment(ref _framesOut); Interlocked.Add(ref _bytesOut, bytes); }
    public void CountDrop(DropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    public IReadOnlyDictionary<string, long> DropsByReason()
    {
        var d = new Dictionary<string, long>();
        foreach (var r in Enum.GetValues<DropReason>()) d[DropReasonNames.Of(r)] = Dropped(r);
        return d;
    }
}

public static class DropReasonNames
{
    public static string Of(DropReason r) => r switch
    {
        DropReason.Malformed => "malformed",
        DropReason.SpoofedMac => "spoofed-mac",
        DropReason.SpoofedIp => "spoofed-ip",
        DropReason.Oversize => "oversize",
        DropReason.TransmitFailed => "transmit-failed",
        DropReason.Policy => "policy",
        _ => r.ToString().ToLowerInvariant(),
    };
}
