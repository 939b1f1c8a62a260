using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Dns;
using Switchyard.Network.Nat;
using Switchyard.Network.Switching;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Gateway;

/// <summary>The network's own station on the switch, at the subnet's first address: answers ARP
/// and ICMP echo for that address and hands DHCP and DNS to their servers. On an IPv6 network it
/// is also the link's router at prefix::1 and its link-local address (<see cref="NeighborDiscovery"/>),
/// answers ICMPv6 echo and DNS over UDP there. Frames arrive on the sending guest's thread and are
/// answered on it; only forwarded DNS queries go async.</summary>
public sealed class GatewayPort : SwitchPort, IDisposable
{
    private readonly DhcpServer _dhcp;
    private readonly DnsServer _dns;
    private readonly DnsTcpResponder _dnsTcp;
    private readonly NeighborDiscovery? _nd;
    private readonly ILogger _logger;

    /// <param name="ipv6">The gateway's IPv6 side (null on an IPv4-only network).</param>
    /// <param name="nat">Builds the network's NAT (null: none, an internal network) on the gateway's
    /// replies. A factory, because the two need each other: the gateway routes to the NAT, and the
    /// NAT answers guests from the gateway's port. The cycle is closed here, once, at construction.</param>
    internal GatewayPort(EthernetSwitch sw, MacAddress mac, Ipv4Subnet subnet, DhcpServer dhcp, DnsServer dns, ILogger logger, TimeProvider time,
        GatewayIpv6? ipv6 = null, Func<GuestReplies, NatEngine>? nat = null)
        : base("gateway")
    {
        Replies = new GuestReplies(sw, this, mac, subnet, ipv6?.Prefix);
        _dhcp = dhcp;
        _dns = dns;
        _logger = logger;
        _dnsTcp = new DnsTcpResponder(Replies, dns, logger, time);
        if (ipv6 is not null) _nd = new NeighborDiscovery(Replies, ipv6, logger, time);
        Nat = nat?.Invoke(Replies);
    }

    /// <summary>Everything sent to guests from the gateway's port (the gateway's answers, the NAT's).</summary>
    internal GuestReplies Replies { get; }

    /// <summary>The network's NAT (null for a network that has none).</summary>
    public NatEngine? Nat { get; }

    /// <summary>The gateway's IPv6 addresses (null on an IPv4-only network).</summary>
    public Ipv6Address? Ipv6Address => Replies.Ipv6Address;
    public Ipv6Address? Ipv6LinkLocal => Replies.Ipv6LinkLocal;
    public Ipv6Prefix? Ipv6Prefix => Replies.Ipv6Prefix;

    public void Dispose() => _nd?.Dispose();

    public MacAddress Mac => Replies.Mac;
    public Ipv4Address Address => Replies.Address;
    public Ipv4Subnet Subnet => Replies.Subnet;

    public override bool Transmit(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        if (!EthernetFrame.TryParse(frame, out var eth)) { Counters.CountDrop(DropReason.Malformed); return true; }
        if (eth.Destination != Mac && !eth.Destination.IsMulticast) return true; // flooded unicast for someone else
        switch (eth.EtherType)
        {
            case EtherType.Arp: HandleArp(eth); break;
            // A partial checksum (the guest kernel left it to "the NIC") is the local kernel's own
            // work, not line noise: there is nothing to verify until it is completed.
            case EtherType.IPv4: HandleIpv4(eth, verifyL4: !offload.NeedsChecksum); break;
            case EtherType.IPv6 when _nd is not null: HandleIpv6(eth, _nd, verifyL4: !offload.NeedsChecksum); break;
        }
        return true;
    }

    private void HandleArp(in EthernetFrame eth)
    {
        if (!ArpPacket.TryParse(eth.Payload, out var arp)) { Counters.CountDrop(DropReason.Malformed); return; }
        if (arp.Operation != ArpPacket.OpRequest || arp.TargetIp != Address || arp.SenderIp.IsAny) return;
        var reply = GuestReplies.Frame;
        int n = EthernetFrame.WriteHeader(reply, arp.SenderMac, Mac, EtherType.Arp);
        n += ArpPacket.Write(reply[n..], ArpPacket.OpReply, Mac, Address, arp.SenderMac, arp.SenderIp);
        Replies.Send(reply[..n]);
    }

    private void HandleIpv4(in EthernetFrame eth, bool verifyL4)
    {
        if (!Ipv4Packet.TryParse(eth.Payload, out var ip) || !ip.IsHeaderChecksumValid) { Counters.CountDrop(DropReason.Malformed); return; }
        bool toUs = ip.Destination == Address;
        bool broadcast = ip.Destination.IsBroadcast || ip.Destination == Subnet.BroadcastAddress;
        if (!toUs && !broadcast)
        {
            // Routed traffic: the NAT's, when this network has one. An internal network routes
            // nothing and says so at once, so the guest fails fast instead of timing out.
            if (Nat is { } nat) nat.Handle(eth.Source, ip, verifyL4);
            else RefuseRouted(eth.Source, ip);
            return;
        }
        if (ip.IsFragment) { Counters.CountDrop(DropReason.Malformed); return; } // our services never need fragments
        // Other ports on the gateway's address are the host's loopback (nat and host modes).
        if (toUs && Nat is { } loopback && ip.Protocol is IpProtocol.Tcp or IpProtocol.Udp && ip.Payload.Length >= 4
            && loopback.TakesGatewayPort(BinaryPrimitives.ReadUInt16BigEndian(ip.Payload[2..])))
        {
            loopback.Handle(eth.Source, ip, verifyL4);
            return;
        }

        switch (ip.Protocol)
        {
            case IpProtocol.Icmp when toUs: HandleIcmp(eth, ip); break;
            case IpProtocol.Udp: HandleUdp(eth, ip, toUs, verifyL4); break;
            case IpProtocol.Tcp when toUs: _dnsTcp.Handle(eth.Source, ip, verifyL4); break;
        }
    }

    /// <summary>ICMP destination unreachable, communication administratively prohibited (RFC 1812
    /// §5.2.7.1). Never for a multicast destination, a fragment after the first, or an ICMP error
    /// (RFC 1122 §3.2.2: no ICMP error about an ICMP error).</summary>
    private void RefuseRouted(MacAddress clientMac, in Ipv4Packet ip)
    {
        Counters.CountDrop(DropReason.Policy);
        if (ip.Destination.Value >> 28 >= 0xE || ip.FragmentOffset != 0) return;
        if (ip.Protocol == IpProtocol.Icmp && (ip.Payload.Length == 0 || ip.Payload[0] is not (IcmpPacket.TypeEchoRequest or IcmpPacket.TypeEchoReply))) return;
        Replies.SendUnreachable(clientMac, ip.Source, Address, 13, ip.ErrorQuote);
    }

    /// <summary><see cref="RefuseRouted(MacAddress, in Ipv4Packet)"/> for IPv6: destination unreachable,
    /// administratively prohibited (RFC 4443 §3.1, code 1), from the gateway's address. An
    /// internal network's guests have no IPv6 default route (router lifetime 0); this answers one
    /// that routes through the gateway anyway.</summary>
    private void RefuseRoutedV6(MacAddress clientMac, in Ipv6Packet ip, Ipv6Address from)
    {
        Counters.CountDrop(DropReason.Policy);
        Replies.SendUnreachableV6(clientMac, ip.Source, from, Icmpv6Packet.TypeDestinationUnreachable, 1, ip.ErrorQuote);
    }

    private void HandleIpv6(in EthernetFrame eth, NeighborDiscovery nd, bool verifyL4)
    {
        if (!Ipv6Packet.TryParse(eth.Payload, out var ip)) { Counters.CountDrop(DropReason.Malformed); return; }
        var dst = ip.Destination;
        if (dst.IsMulticast)
        {
            // Of the link's groups, the gateway serves only Neighbor Discovery.
            if (ip.NextHeader == IpProtocol.Icmpv6 && nd.Listens(dst)) HandleIcmpv6(eth, ip, nd);
            return;
        }
        if (!nd.IsOurs(dst))
        {
            // Routed traffic: NAT66 when this network has a NAT; refused at once otherwise. A
            // guest's own prefix is on-link (the RA says so), so nothing for it should come here.
            if (nd.Config.Prefix.Contains(dst) || dst.IsLinkLocal) return;
            if (Nat is { } nat) nat.Handle(eth.Source, ip, verifyL4);
            else RefuseRoutedV6(eth.Source, ip, nd.Address);
            return;
        }
        // Other ports on the gateway's address are the host's loopback ::1 (nat and host modes).
        if (Nat is { } loopback && ip.NextHeader is IpProtocol.Tcp or IpProtocol.Udp && ip.Payload.Length >= 4
            && loopback.TakesGatewayPort(BinaryPrimitives.ReadUInt16BigEndian(ip.Payload[2..])))
        {
            loopback.Handle(eth.Source, ip, verifyL4);
            return;
        }
        switch (ip.NextHeader)
        {
            case IpProtocol.Icmpv6: HandleIcmpv6(eth, ip, nd); break;
            case IpProtocol.Udp: HandleUdpV6(eth, ip, verifyL4); break;
            case IpProtocol.Tcp: _dnsTcp.Handle(eth.Source, ip, verifyL4); break;   // DNS over TCP on 53, RST elsewhere
            default: Replies.SendUnreachableV6(eth.Source, ip.Source, dst, Icmpv6Packet.TypeParameterProblem, 1, ip.ErrorQuote, pointer: 6); break;
        }
    }

    private void HandleIcmpv6(in EthernetFrame eth, in Ipv6Packet ip, NeighborDiscovery nd)
    {
        if (!Icmpv6Packet.TryParse(ip.Payload, out var icmp) || !icmp.IsChecksumValid(ip.Source, ip.Destination))
        {
            Counters.CountDrop(DropReason.Malformed);
            return;
        }
        switch (icmp.Type)
        {
            case Icmpv6Packet.TypeNeighborSolicitation or Icmpv6Packet.TypeRouterSolicitation: nd.Handle(eth.Source, ip, icmp); break;
            case Icmpv6Packet.TypeEchoRequest when !ip.Destination.IsMulticast && !ip.Source.IsUnspecified:
                // RFC 4443 §4.2: identifier, sequence and data come back unchanged, from the address pinged.
                var reply = GuestReplies.Frame;
                var l4 = reply[EthernetFrameWriter.Ipv6L4Offset..];
                icmp.Bytes.CopyTo(l4);
                Icmpv6Packet.Finish(l4, Icmpv6Packet.TypeEchoReply, 0, icmp.Bytes.Length, ip.Destination, ip.Source);
                Replies.SendIpv6(reply, eth.Source, ip.Destination, ip.Source, IpProtocol.Icmpv6, icmp.Bytes.Length);
                break;
        }
    }

    private void HandleUdpV6(in EthernetFrame eth, in Ipv6Packet ip, bool verifyL4)
    {
        if (!UdpDatagram.TryParse(ip.Payload, out var udp) || (verifyL4 && !udp.IsChecksumValid(ip.Source, ip.Destination)))
        {
            Counters.CountDrop(DropReason.Malformed);
            return;
        }
        if (udp.DestinationPort == 53) HandleDnsUdp(new DnsClient(eth.Source, default, ip.Source, ip.Destination, udp.SourcePort), udp.Payload);
        else Replies.SendUnreachableV6(eth.Source, ip.Source, ip.Destination, Icmpv6Packet.TypeDestinationUnreachable, 4, ip.ErrorQuote);   // port unreachable
    }

    private void HandleIcmp(in EthernetFrame eth, in Ipv4Packet ip)
    {
        if (!IcmpPacket.TryParse(ip.Payload, out var icmp) || !icmp.IsChecksumValid) { Counters.CountDrop(DropReason.Malformed); return; }
        if (icmp.Type != IcmpPacket.TypeEchoRequest) return;
        // RFC 792: the echo reply returns identifier, sequence and data unchanged.
        var reply = GuestReplies.Frame;
        var l4 = reply[EthernetFrameWriter.L4Offset..];
        icmp.Bytes.CopyTo(l4);
        IcmpPacket.Finish(l4, IcmpPacket.TypeEchoReply, 0, icmp.Bytes.Length);
        int n = EthernetFrameWriter.FinishIpv4(reply, eth.Source, Mac, Address, ip.Source, IpProtocol.Icmp, icmp.Bytes.Length);
        Replies.Send(reply[..n]);
    }

    private void HandleUdp(in EthernetFrame eth, in Ipv4Packet ip, bool toUs, bool verifyL4)
    {
        if (!UdpDatagram.TryParse(ip.Payload, out var udp) || (verifyL4 && !udp.IsChecksumValid(ip.Source, ip.Destination)))
        {
            Counters.CountDrop(DropReason.Malformed);
            return;
        }
        if (udp.DestinationPort == DhcpServer.ServerPort) { HandleDhcp(eth, udp); return; }
        if (!toUs) return;
        if (udp.DestinationPort == 53) HandleDnsUdp(new DnsClient(eth.Source, ip.Source, default, default, udp.SourcePort), udp.Payload);
        else SendPortUnreachable(eth.Source, ip);
    }

    /// <summary>ICMP destination unreachable, code 3 (port), quoting the datagram's IP header and
    /// first 8 bytes (RFC 792; RFC 1812 §4.3.2.3 allows more), so the guest fails fast.</summary>
    internal void SendPortUnreachable(MacAddress clientMac, in Ipv4Packet ip) =>
        Replies.SendUnreachable(clientMac, ip.Source, Address, 3, ip.ErrorQuote);

    private void HandleDhcp(in EthernetFrame eth, in UdpDatagram udp)
    {
        var reply = GuestReplies.Frame;
        int len = _dhcp.Handle(udp.Payload, eth.Source, reply[EthernetFrameWriter.UdpPayloadOffset..], out bool broadcast);
        if (len == 0) return;
        // RFC 2131 §4.1: without a relay, reply to the client's hardware address; to the IP
        // broadcast address when it asked for it (it cannot receive unicast before configuring).
        var yiaddr = Ipv4Address.Read(reply[(EthernetFrameWriter.UdpPayloadOffset + DhcpLayout.YiaddrOffset)..]);
        var dst = broadcast || yiaddr.IsAny ? Ipv4Address.Broadcast : yiaddr;
        var dstMac = broadcast ? MacAddress.Broadcast : eth.Source;
        int n = EthernetFrameWriter.FinishUdp(reply, dstMac, Mac, Address, dst, DhcpServer.ServerPort, DhcpServer.ClientPort, len);
        Replies.Send(reply[..n]);
    }

    /// <summary>Who asked a DNS question over UDP: an IPv4 client, or an IPv6 one (Client6 set)
    /// that asked at <paramref name="Server6"/>, which answers.</summary>
    private readonly record struct DnsClient(MacAddress Mac, Ipv4Address Client4, Ipv6Address Client6, Ipv6Address Server6, ushort Port)
    {
        public bool IsIpv6 => !Client6.IsUnspecified;
    }

    private void HandleDnsUdp(DnsClient client, ReadOnlySpan<byte> query)
    {
        if (query.Length < 12) { Counters.CountDrop(DropReason.Malformed); return; }
        byte[] q = ArrayPool<byte>.Shared.Rent(query.Length);
        byte[] r = ArrayPool<byte>.Shared.Rent(65535);
        query.CopyTo(q);
        // The client's EDNS size, but never more than one unfragmented frame on this network: a
        // bigger reply would be dropped as oversize instead of truncated (RFC 6891 §6.2.5).
        int payloadOffset = client.IsIpv6 ? EthernetFrameWriter.Ipv6UdpPayloadOffset : EthernetFrameWriter.UdpPayloadOffset;
        int maxSize = Math.Min(DnsMessage.ClientUdpPayloadSize(query), Replies.MaxFrameLength - EthernetFrame.VlanTagLength - payloadOffset);
        var pending = _dns.ResolveAsync(q.AsMemory(0, query.Length), r, client.Mac);
        if (pending.IsCompletedSuccessfully) SendDnsUdp(pending.Result);
        else _ = Complete(pending);

        async Task Complete(ValueTask<int> task)
        {
            int len = 0;
            try { len = await task.ConfigureAwait(false); }
            catch (Exception e) { GatewayLog.DnsFailed(_logger, e); }
            SendDnsUdp(len);
        }

        void SendDnsUdp(int len)
        {
            try
            {
                if (len <= 0) return;
                len = DnsMessage.TruncateForUdp(r.AsSpan(0, len), maxSize);
                var reply = GuestReplies.Frame;
                r.AsSpan(0, len).CopyTo(reply[payloadOffset..]);
                int n = client.IsIpv6
                    ? EthernetFrameWriter.FinishUdpV6(reply, client.Mac, Mac, client.Server6, client.Client6, 53, client.Port, len)
                    : EthernetFrameWriter.FinishUdp(reply, client.Mac, Mac, Address, client.Client4, 53, client.Port, len);
                Replies.Send(reply[..n]);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(q);
                ArrayPool<byte>.Shared.Return(r);
            }
        }
    }
}

internal static partial class GatewayLog
{
    [LoggerMessage(EventId = LogEvents.DnsAnswerFailed, Level = LogLevel.Error, Message = "Answering a DNS query failed")]
    public static partial void DnsFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = LogEvents.RouterAdvertisementFailed, Level = LogLevel.Error, Message = "Sending a router advertisement failed")]
    public static partial void AdvertiseFailed(ILogger logger, Exception error);
}
