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

// Published ports (docs/nat.md, "Published ports"): host listeners whose TCP connections and UDP datagrams go to a guest.
public sealed partial class NatEngine
{
    /// <summary>Listens on a host port for <paramref name="spec"/>; connections (or datagrams) go
    /// to the guest <paramref name="guest"/> finds at that moment. Dispose the result to unpublish.
    /// Throws <see cref="PublishException"/> when the host port cannot be had.</summary>
    public IDisposable Publish(PublishedPort spec, Func<GuestAddress?> guest)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return spec.Protocol == System.Net.Sockets.ProtocolType.Udp ? PublishUdp(spec, guest) : TcpPortListener.Start(this, spec, guest);
    }

    /// <summary>A client accepted on a published TCP port. The guest sees the client's real
    /// address as the source; loopback clients (127/8, ::1) and IPv6 clients appear as the gateway
    /// address, because a guest drops packets from a loopback source as martians (RFC 1122 §3.2.1.3)
    /// and an IPv4 guest has no way to answer an IPv6 one.</summary>
    internal void AcceptInbound(System.Net.Sockets.Socket client, ushort guestPort, GuestAddress guest)
    {
        var remote = (IPEndPoint)client.RemoteEndPoint!;
        var key = new FlowKey(guest.Ip, guestPort, InboundSource(remote.Address), (ushort)remote.Port);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Statistics.CountRefused(NatProtocol.Tcp);
            TcpPortListener.Refuse(client);
            return;
        }
        // A published port's connections count against the guest's share like its own.
        var share = ShareOf(guest.Mac);
        if (TryAdmit(share, NatProtocol.Tcp) is var refusal and not FlowRefusal.None)
        {
            CountRefusal(share, NatProtocol.Tcp, refusal);
            TcpPortListener.Refuse(client);
            return;
        }
        var flow = TcpFlow.Inbound(this, key, guest.Mac, client);
        flow.Share = share;
        if (!_tcp.TryAdd(key, flow))
        {
            flow.Abort();
            Release(share, NatProtocol.Tcp);
            return;
        }
        Statistics.CountOpened(NatProtocol.Tcp);
        Statistics.CountPublished();
        flow.Start(null);
    }

    // ---- published UDP ports ----------------------------------------------------------

    private readonly ConcurrentDictionary<FlowKey, UdpPortListener.Association> _udpInbound = new();
    private readonly ConcurrentDictionary<UdpPortListener, byte> _udpListeners = new();

    private IDisposable PublishUdp(PublishedPort spec, Func<GuestAddress?> guest)
    {
        var listener = UdpPortListener.Start(this, spec, guest);
        _udpListeners[listener] = 0;
        return listener;
    }

    internal void RemoveUdpListener(UdpPortListener listener) => _udpListeners.TryRemove(listener, out _);

    internal void AddInboundUdp(in FlowKey key, UdpPortListener.Association association) => _udpInbound[key] = association;

    internal void RemoveInboundUdp(in FlowKey key, UdpPortListener.Association association) => _udpInbound.TryRemove(new(key, association));

    /// <summary>A datagram a published port's client sent, to the guest from the client's (mapped) address.</summary>
    internal void SendUdpToGuest(in FlowKey key, MacAddress guestMac, ReadOnlySpan<byte> payload)
    {
        var frame = GuestReplies.Frame;
        payload.CopyTo(frame[EthernetFrameWriter.UdpPayloadOffset..]);
        int udpLength = UdpDatagram.Write(frame[EthernetFrameWriter.L4Offset..], key.RemoteIpv4, key.GuestIpv4, key.RemotePort, key.GuestPort, payload.Length);
        SendToGuest(frame, guestMac, key.RemoteIpv4, key.GuestIpv4, IpProtocol.Udp, udpLength);
    }

    /// <summary>The address a published port's client has on the guest's side: its own for other
    /// machines' IPv4 clients, the gateway's for loopback and IPv6 ones (a guest drops loopback
    /// sources as martians, RFC 1122 §3.2.1.3, and cannot answer IPv6).</summary>
    internal Ipv4Address InboundSource(IPAddress client)
    {
        var address = client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
        return address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address)
            ? Ipv4Address.FromIPAddress(address)
            : _replies.Address;
    }
}
