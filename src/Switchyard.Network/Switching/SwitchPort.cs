using Switchyard.Packets;

namespace Switchyard.Network.Switching;

/// <summary>One port of an <see cref="EthernetSwitch"/>: a guest's NIC or the gateway.</summary>
public abstract class SwitchPort
{
    private static int s_nextId;

    protected SwitchPort(string name)
    {
        Id = Interlocked.Increment(ref s_nextId);
        Name = name;
    }

    public int Id { get; }
    public string Name { get; }
    public PortCounters Counters { get; } = new();

    /// <summary>Set when the port leaves the switch; frames it still sends are ignored.</summary>
    public bool Removed { get => _removed; internal set => _removed = value; }
    private volatile bool _removed;

    /// <summary>Anti-spoofing rules for frames this port sends into the switch; null for trusted
    /// ports (the gateway).</summary>
    public PortGuard? Guard { get; init; }

    /// <summary>Delivers a frame out of the switch through this port. Called from any port's
    /// thread; must not block. Returns false when the frame was dropped.</summary>
    public abstract bool Transmit(ReadOnlySpan<byte> frame, in VirtioNetHeader offload);
}
