using System.Collections.Concurrent;
using Switchyard.Packets;

namespace Switchyard.Network.Switching;

/// <summary>A learning L2 switch (IEEE 802.1D §7.8 in spirit): unicast to the port a MAC was last
/// seen on, flood broadcast, multicast and unknown unicast. Called concurrently from every port's
/// receive thread; forwarding takes no lock and allocates nothing.</summary>
public sealed class EthernetSwitch
{
    private readonly ConcurrentDictionary<MacAddress, SwitchPort> _macTable = new();
    private readonly object _portsLock = new();
    private SwitchPort[] _ports = [];

    public EthernetSwitch(int mtu) => MaxFrameLength = mtu + EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength;

    /// <summary>The longest frame a port may send: the MTU plus Ethernet and one VLAN tag.</summary>
    public int MaxFrameLength { get; }

    /// <summary>A TCP segmentation job may carry up to 64 KiB of IP whatever the MTU.</summary>
    public const int MaxGsoFrameLength = 65535 + EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength;
    public IReadOnlyList<SwitchPort> Ports => Volatile.Read(ref _ports);

    public void AddPort(SwitchPort port)
    {
        lock (_portsLock) _ports = [.. _ports, port];
    }

    public void RemovePort(SwitchPort port)
    {
        port.Removed = true;
        lock (_portsLock) _ports = Array.FindAll(_ports, p => p != port);
        foreach (var entry in _macTable)
            if (entry.Value == port) _macTable.TryRemove(entry);
    }

    /// <summary>Takes a frame that <paramref name="ingress"/> sent into the switch.</summary>
    public void Forward(SwitchPort ingress, ReadOnlySpan<byte> frame) => Forward(ingress, frame, VirtioNetHeader.None);

    /// <summary>Takes a frame with offload metadata; egress ports that cannot take offloads get
    /// plain frames (<see cref="SoftwareOffload"/>).</summary>
    public void Forward(SwitchPort ingress, ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (ingress.Removed) return; // a detached port's last frames, still in its receive loop
        ingress.Counters.CountIn(frame.Length);
        if (!EthernetFrame.TryParse(frame, out var eth)) { ingress.Counters.CountDrop(DropReason.Malformed); return; }
        if (frame.Length > (offload.IsGso ? MaxGsoFrameLength : MaxFrameLength)) { ingress.Counters.CountDrop(DropReason.Oversize); return; }
        if (ingress.Guard is { } guard && !guard.Allows(eth, out var reason)) { ingress.Counters.CountDrop(reason); return; }

        if (!eth.Source.IsMulticast && (!_macTable.TryGetValue(eth.Source, out var known) || known != ingress))
            _macTable[eth.Source] = ingress;

        if (!eth.Destination.IsMulticast && _macTable.TryGetValue(eth.Destination, out var egress))
        {
            if (egress != ingress) Deliver(egress, frame, offload);
            return;
        }
        foreach (var port in Volatile.Read(ref _ports))
            if (port != ingress) Deliver(port, frame, offload);
    }

    /// <summary>One port's failure (a closed device, a disposed socket) is that port's drop: it
    /// must never unwind into the sending guest's thread and stop its port.</summary>
    private static void Deliver(SwitchPort egress, ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        bool sent;
        try { sent = egress.Transmit(frame, offload); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException) { sent = false; }
        if (sent) egress.Counters.CountOut(frame.Length);
        else egress.Counters.CountDrop(DropReason.TransmitFailed);
    }
}
