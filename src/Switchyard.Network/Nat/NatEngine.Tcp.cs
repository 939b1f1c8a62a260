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

// TCP translation: the flow table, new connections from guests, the delayed-ACK flush and the one
// builder of TCP frames toward guests. The protocol itself is TcpFlow's; docs/nat.md ("TCP").
public sealed partial class NatEngine
{
    private static readonly TimeSpan DelayedAck = TimeSpan.FromMilliseconds(1);
    private readonly ConcurrentDictionary<FlowKey, TcpFlow> _tcp = new();
    private readonly ITimer _ackTimer;
    private readonly ConcurrentQueue<TcpFlow> _delayedAcks = new();
    private int _ackTimerArmed;

    public int TcpFlowCount => _admission.Count(NatProtocol.Tcp);

    private void HandleTcp(MacAddress guestMac, in Ipv4Packet ip, bool verifyL4)
    {
        if (!TcpSegment.TryParse(ip.Payload, out var seg) || (verifyL4 && !seg.IsChecksumValid(ip.Source, ip.Destination)))
        {
            _replies.Counters.CountDrop(DropReason.Malformed);
            return;
        }
        HandleTcp(guestMac, new FlowKey(ip.Source, seg.SourcePort, ip.Destination, seg.DestinationPort), seg, ip.ErrorQuote);
    }

    /// <summary>A guest's TCP segment of either family; <paramref name="quote"/> is what an ICMP
    /// error about it quotes (the IP header and 8 bytes).</summary>
    private void HandleTcp(MacAddress guestMac, in FlowKey key, in TcpSegment seg, ReadOnlySpan<byte> quote)
    {
        if (_tcp.TryGetValue(key, out var flow)) { flow.OnGuestSegment(guestMac, seg); return; }
        if (!seg.Has(TcpFlags.Syn) || seg.Has(TcpFlags.Ack))
        {
            SendReset(guestMac, key, seg);   // RFC 9293 §3.10.7.1: no connection here
            return;
        }
        if (Volatile.Read(ref _disposed) != 0) { SendReset(guestMac, key, seg); return; }
        // A destination this flow may not go to, or no room in the endpoint's share, the network's
        // table or the daemon's fd budget: refused at once, like a closed port.
        if (CheckNewFlow(guestMac, key, ProtocolType.Tcp, seg.DestinationPort, out var target, out bool inspect) != FlowPath.Open)
        {
            Statistics.CountRefused(NatProtocol.Tcp);
            SendReset(guestMac, key, seg);
            return;
        }
        var share = ShareOf(guestMac);
        if (TryAdmit(share, NatProtocol.Tcp) is var refusal and not FlowRefusal.None)
        {
            CountRefusal(share, NatProtocol.Tcp, refusal);
            SendReset(guestMac, key, seg);
            return;
        }
        var remote = new IPEndPoint(target, seg.DestinationPort);
        try { flow = TcpFlow.Outbound(this, key, guestMac, quote, seg, remote, inspect ? new ServerNameInspection(Egress!, remote) : null); }
        catch (SocketException)
        {
            // No socket to be had (out of descriptors): the guest hears no, as from a full table.
            Release(share, NatProtocol.Tcp);
            Statistics.CountRefused(NatProtocol.Tcp);
            _replies.Counters.CountDrop(DropReason.TransmitFailed);
            SendReset(guestMac, key, seg);
            return;
        }
        flow.Share = share;
        if (!_tcp.TryAdd(key, flow))
        {
            flow.Abort();   // never in the table: its place is given back here
            Release(share, NatProtocol.Tcp);
            return;
        }
        Statistics.CountOpened(NatProtocol.Tcp);
        flow.Start(remote);
    }

    internal void Remove(TcpFlow flow)
    {
        if (_tcp.TryRemove(new(flow.Key, flow))) Release(flow.Share, NatProtocol.Tcp);
    }

    /// <summary>Queues <paramref name="flow"/>'s ACK for the delayed-ACK flush, about 1 ms out.</summary>
    internal void AckLater(TcpFlow flow)
    {
        _delayedAcks.Enqueue(flow);
        if (Interlocked.Exchange(ref _ackTimerArmed, 1) == 0) _ackTimer.Change(DelayedAck, Timeout.InfiniteTimeSpan);
    }

    private void FlushDelayedAcks()
    {
        Volatile.Write(ref _ackTimerArmed, 0);
        try
        {
            while (_delayedAcks.TryDequeue(out var flow)) flow.FlushDelayedAck();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            NatLog.TickFailed(_logger, e);   // a timer callback's exception would end the process
        }
        if (!_delayedAcks.IsEmpty && Interlocked.Exchange(ref _ackTimerArmed, 1) == 0) _ackTimer.Change(DelayedAck, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A RST for a segment that belongs to no connection (RFC 9293 §3.10.7.1).</summary>
    private void SendReset(MacAddress guestMac, in FlowKey key, in TcpSegment seg)
    {
        if (seg.TryGetReset(out uint seq, out uint ack, out var flags))
            SendTcp(new TcpReply(key, guestMac, seq, ack, flags, 0));
    }

    /// <summary>Builds one TCP frame from the remote (or gateway) to the guest in this thread's
    /// reply frame and sends it into the switch. Frames with data go out offloaded: a partial
    /// checksum, and a segmentation job when the data is longer than the guest's MSS; ports that
    /// cannot take that get it finished in software (<see cref="SoftwareOffload"/>).</summary>
    internal void SendTcp(in TcpReply reply)
    {
        var frame = GuestReplies.Frame;
        var key = reply.Flow;
        bool v4 = key.IsIpv4;
        int l4Offset = v4 ? EthernetFrameWriter.L4Offset : EthernetFrameWriter.Ipv6L4Offset;
        var l4 = frame[l4Offset..];
        int hl = TcpSegment.WriteHeader(l4, key.RemotePort, key.GuestPort, reply.Sequence, reply.Acknowledgment, reply.Flags, reply.Window, reply.Options);
        int dataLength = reply.DataLength;
        if (dataLength > 0) reply.Data!.CopyTo(reply.DataOffset, l4.Slice(hl, dataLength));
        int l4Length = hl + dataLength;
        ulong pseudo;
        if (v4)
        {
            Ipv4Packet.WriteHeader(frame[EthernetFrameWriter.Ipv4Offset..], key.RemoteIpv4, key.GuestIpv4, IpProtocol.Tcp, l4Length, identification: reply.IpId);
            EthernetFrame.WriteHeader(frame, reply.GuestMac, _replies.Mac, EtherType.IPv4);
            pseudo = Checksum.PseudoHeaderV4(key.RemoteIpv4, key.GuestIpv4, IpProtocol.Tcp, l4Length);
        }
        else
        {
            Ipv6Packet.WriteHeader(frame[EthernetFrameWriter.Ipv4Offset..], key.RemoteIp, key.GuestIp, IpProtocol.Tcp, l4Length);
            EthernetFrame.WriteHeader(frame, reply.GuestMac, _replies.Mac, EtherType.IPv6);
            pseudo = Ipv6Packet.PseudoHeader(key.RemoteIp, key.GuestIp, IpProtocol.Tcp, l4Length);
        }
        var offload = VirtioNetHeader.None;
        if (dataLength == 0)
            BinaryPrimitives.WriteUInt16BigEndian(l4[16..], Checksum.Finish(Checksum.Add(pseudo, l4[..l4Length])));
        else
        {
            // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum; the rest is summed by whoever completes it.
            BinaryPrimitives.WriteUInt16BigEndian(l4[16..], (ushort)~Checksum.Finish(pseudo));
            bool gso = dataLength > reply.Mss;
            byte gsoType = v4 ? VirtioNetHeader.GsoTcpV4 : VirtioNetHeader.GsoTcpV6;
            offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, gso ? gsoType : VirtioNetHeader.GsoNone,
                (ushort)(l4Offset + hl), gso ? (ushort)reply.Mss : (ushort)0, (ushort)l4Offset, 16);
        }
        _replies.Send(frame[..(l4Offset + l4Length)], offload);
    }
}
