using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Egress;
using Switchyard.Network.Gateway;
using Switchyard.Network.Switching;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

// UDP translation (UdpFlow): one connected host socket per guest flow; docs/nat.md ("UDP").
public sealed partial class NatEngine
{
    /// <summary>UDP flows per network: past this the flow idle longest is closed for a new one.</summary>
    internal const int DefaultMaxUdpFlows = 4096;

    private readonly ConcurrentDictionary<FlowKey, UdpFlow> _udp = new();

    /// <summary>How long a UDP flow lives without a datagram either way.</summary>
    internal TimeSpan UdpIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The same for flows to a remote's port 53 (DNS: one query, one answer).</summary>
    internal TimeSpan DnsIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The network's UDP table; an endpoint without its own cap may hold a quarter of it.</summary>
    internal int MaxUdpFlows
    {
        get => _admission.ProtocolMax(NatProtocol.Udp);
        set => _admission.SetProtocolMax(NatProtocol.Udp, value);
    }

    public int UdpFlowCount => _admission.Count(NatProtocol.Udp);

    private void HandleUdp(MacAddress guestMac, in Ipv4Packet ip, bool verifyL4)
    {
        if (!UdpDatagram.TryParse(ip.Payload, out var udp) || (verifyL4 && !udp.IsChecksumValid(ip.Source, ip.Destination))
            || udp.SourcePort == 0 || udp.DestinationPort == 0)
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        var key = new FlowKey(ip.Source, udp.SourcePort, ip.Destination, udp.DestinationPort);
        // A reply to a published port's client goes back out of the published socket.
        if (!_udpInbound.IsEmpty && _udpInbound.TryGetValue(key, out var inbound)) { inbound.Listener.Send(inbound, udp.Payload); return; }
        if (!_udp.TryGetValue(key, out var flow) && (flow = OpenUdp(guestMac, key, ip.ErrorQuote)) is null) return;
        flow.FromGuest(guestMac, ip.ErrorQuote, udp.Payload);
    }

    private void HandleUdp(MacAddress guestMac, in Ipv6Packet ip, bool verifyL4)
    {
        if (!UdpDatagram.TryParse(ip.Payload, out var udp) || (verifyL4 && !udp.IsChecksumValid(ip.Source, ip.Destination))
            || udp.SourcePort == 0 || udp.DestinationPort == 0)
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        var key = new FlowKey(ip.Source, udp.SourcePort, ip.Destination, udp.DestinationPort);
        var quote = ip.Bytes[..Math.Min(ip.Bytes.Length, Ipv6Packet.HeaderLength + 8)];
        if (!_udp.TryGetValue(key, out var flow) && (flow = OpenUdp(guestMac, key, quote)) is null) return;
        flow.FromGuest(guestMac, quote, udp.Payload);
    }

    private UdpFlow? OpenUdp(MacAddress guestMac, in FlowKey key, ReadOnlySpan<byte> quote)
    {
        if (!MayOpen(guestMac, key, quote, ProtocolType.Udp, key.RemotePort, out var target)) return null;
        var share = ShareOf(guestMac);
        if (!AdmitDatagram(share, _udp, NatProtocol.Udp, guestMac, key, quote)) return null;
        long idle = (key.RemotePort == 53 ? DnsIdleTimeout : UdpIdleTimeout).Ticks;
        var flow = UdpFlow.Open(this, key, guestMac, new IPEndPoint(target, key.RemotePort), idle, out var error);
        if (flow is null)
        {
            Release(share, NatProtocol.Udp);
            OpenFailed(NatProtocol.Udp, guestMac, key, quote, error);
            return null;
        }
        flow.Share = share;
        if (!_udp.TryAdd(key, flow))
        {
            flow.Close();   // never in the table: its place is given back here
            Release(share, NatProtocol.Udp);
            return _udp.TryGetValue(key, out var other) ? other : null;
        }
        Statistics.CountOpened(NatProtocol.Udp);
        if (Volatile.Read(ref _disposed) != 0) { flow.Close(); return null; }
        flow.Start();
        return flow;
    }

    internal void Remove(UdpFlow flow)
    {
        if (_udp.TryRemove(new(flow.Key, flow))) Release(flow.Share, NatProtocol.Udp);
    }
}
