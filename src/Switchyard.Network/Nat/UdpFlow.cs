using System.Net;
using System.Net.Sockets;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

/// <summary>
/// One guest UDP flow (guest address and port, remote address and port) on one host UDP socket,
/// <c>connect()</c>ed to the mapped destination (the remote itself, or 127.0.0.1 for the gateway
/// address). Connecting makes the kernel pick the source address and port by the host's current
/// route, deliver only the remote's replies, and report ICMP errors for the flow as errnos:
/// ECONNREFUSED becomes ICMP port unreachable to the guest, from the remote, quoting the guest's
/// last datagram (see <see cref="DatagramFlow"/>).
///
/// Guest to host: the payload is sent as it is (recv/send with MSG_DONTWAIT; a full socket buffer
/// is a counted drop). Host to guest: each datagram is received straight into the reply frame and
/// goes to the guest from the remote's address and port, fragmented when it is bigger than the
/// network's MTU (<see cref="NatEngine.SendToGuest"/>).
/// </summary>
internal sealed class UdpFlow : DatagramFlow
{
    /// <summary>The largest UDP payload IPv4 can carry (65535 - 20 - 8).</summary>
    private const int MaxPayload = 65507;

    private UdpFlow(NatEngine engine, FlowKey key, MacAddress guestMac, Socket socket, long idleTimeout)
        : base(engine, key, guestMac, socket, idleTimeout) { }

    /// <summary>A socket connected to <paramref name="target"/>, or null with the reason (no route,
    /// a broadcast address, out of descriptors).</summary>
    public static UdpFlow? Open(NatEngine engine, FlowKey key, MacAddress guestMac, IPEndPoint target, long idleTimeout, out SocketError error)
    {
        Socket socket;
        try { socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp); }
        catch (SocketException e) { error = e.SocketErrorCode; return null; }
        error = Connect(socket, target);
        if (error != SocketError.Success)
        {
            socket.Dispose();
            return null;
        }
        var flow = new UdpFlow(engine, key, guestMac, socket, idleTimeout);
        flow.NotePath(target.Address);
        return flow;
    }

    /// <summary>A datagram from the guest (on its receive thread).</summary>
    public void FromGuest(MacAddress guestMac, ReadOnlySpan<byte> quote, ReadOnlySpan<byte> payload)
    {
        lock (Gate)
        {
            if (IsClosed) return;   // closed a moment ago (idle, evicted): this datagram is lost, the next opens a new flow
            GuestMac = guestMac;
            Touch();
            StoreQuote(quote);
            SendToHost(payload);
        }
    }

    protected override Span<byte> ReceiveArea(Span<byte> frame) =>
        frame.Slice(Key.IsIpv4 ? EthernetFrameWriter.UdpPayloadOffset : EthernetFrameWriter.Ipv6UdpPayloadOffset, MaxPayload);

    protected override void OnReceived(Span<byte> frame, int length)
    {
        CountToGuest(length);
        if (!Key.IsIpv4)
        {
            int udp6 = UdpDatagram.WriteV6(frame[EthernetFrameWriter.Ipv6L4Offset..], Key.RemoteIp, Key.GuestIp, Key.RemotePort, Key.GuestPort, length);
            Engine.SendToGuest(frame, GuestMac, Key.RemoteIp, Key.GuestIp, IpProtocol.Udp, udp6);
            return;
        }
        int udpLength = UdpDatagram.Write(frame[EthernetFrameWriter.L4Offset..], Key.RemoteIpv4, Key.GuestIpv4, Key.RemotePort, Key.GuestPort, length);
        Engine.SendToGuest(frame, GuestMac, Key.RemoteIpv4, Key.GuestIpv4, IpProtocol.Udp, udpLength);
    }

    protected override void OnClosed() => Engine.Remove(this);
}
