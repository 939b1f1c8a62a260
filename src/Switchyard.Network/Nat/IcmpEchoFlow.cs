using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Gateway;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Nat;

/// <summary>How the NAT reaches the outside with ICMP echo.</summary>
internal enum IcmpSocketKind
{
    /// <summary>Neither socket could be had: echo requests are refused (ICMP admin prohibited).</summary>
    Unavailable,
    /// <summary>An unprivileged ICMP socket (<c>SOCK_DGRAM, IPPROTO_ICMP</c>). On Linux the kernel
    /// sets the echo identifier (the socket's "port") and checksum and hands each socket only the
    /// replies to its own identifier; it needs net.ipv4.ping_group_range to include the daemon's group.</summary>
    Ping,
    /// <summary><c>SOCK_RAW</c> (root or CAP_NET_RAW): every ICMP packet from the remote reaches
    /// the socket, IP header included, and the identifier is ours to pick and to filter on.</summary>
    Raw,
}

/// <summary>
/// One guest's ping (guest address, echo identifier, remote address) on one host ICMP socket
/// connected to the remote. The guest's sequence numbers and data go out unchanged; the identifier
/// on the wire is the host's (the kernel's, or one we pick), so replies are mapped back to the
/// guest's identifier with the checksum recomputed, and sent from the remote to the guest (TTL 64).
///
/// Sockets: an unprivileged ICMP socket first. On Linux it needs the daemon's group in
/// net.ipv4.ping_group_range; when creating one fails (EACCES), a raw ICMP socket is tried, which
/// works as root or with CAP_NET_RAW. On macOS, ICMP datagram sockets need no privilege but behave
/// like raw ones (every reply to every socket, the identifier untouched, IP header included), so
/// there we pick and filter the identifier ourselves too. Host unreachable and similar errors the
/// kernel reports on the socket go back to the guest as ICMP (see <see cref="DatagramFlow"/>).
/// </summary>
internal sealed class IcmpEchoFlow : DatagramFlow
{
    /// <summary>After a refused ping socket, how long a network uses raw sockets before trying
    /// again (the sysctl may change; an exception per new flow is not worth it).</summary>
    private static readonly long PingRetry = TimeSpan.FromMinutes(1).Ticks;
    // Identifiers we put on the wire in raw mode, process-wide: every raw socket sees every reply.
    private static readonly HashSet<ushort> s_ids = [];
    private static ushort s_nextId = (ushort)Random.Shared.Next(1, 65536);

    /// <summary>Linux ping socket: the kernel owns identifiers and demultiplexes replies.</summary>
    private readonly bool _kernelIdentifier;
    /// <summary>Otherwise: the identifier this flow uses on the wire (unique in this process).</summary>
    private readonly ushort _wireId;

    private IcmpEchoFlow(NatEngine engine, FlowKey key, MacAddress guestMac, Socket socket, long idleTimeout, bool kernelIdentifier, ushort wireId)
        : base(engine, key, guestMac, socket, idleTimeout)
    {
        _kernelIdentifier = kernelIdentifier;
        _wireId = wireId;
    }

    /// <summary>Whether the kernel picks and matches identifiers (a Linux ping socket).</summary>
    public bool KernelIdentifier => _kernelIdentifier;

    /// <summary>An ICMP socket connected to <paramref name="target"/>; null with the reason when
    /// none can be had (<paramref name="kind"/> Unavailable) or the connect failed.</summary>
    public static IcmpEchoFlow? Open(NatEngine engine, FlowKey key, MacAddress guestMac, IPAddress target, long idleTimeout,
        out IcmpSocketKind kind, out SocketError error)
    {
        var socket = CreateSocket(ref engine.PingDeniedUntil, engine.NowTicks, target.AddressFamily, out kind);
        if (socket is null) { error = SocketError.AccessDenied; return null; }
        error = Connect(socket, new IPEndPoint(target, 0));
        if (error != SocketError.Success)
        {
            socket.Dispose();
            return null;
        }
        bool kernelIdentifier = kind == IcmpSocketKind.Ping && OperatingSystem.IsLinux();
        ushort wireId = 0;
        if (!kernelIdentifier && (wireId = AllocateId()) == 0)
        {
            socket.Dispose();
            error = SocketError.TooManyOpenSockets;
            return null;
        }
        error = SocketError.Success;
        var flow = new IcmpEchoFlow(engine, key, guestMac, socket, idleTimeout, kernelIdentifier, wireId);
        flow.NotePath(target);
        return flow;
    }

    private static Socket? CreateSocket(ref long pingDeniedUntil, long now, AddressFamily family, out IcmpSocketKind kind)
    {
        var protocol = family == AddressFamily.InterNetworkV6 ? ProtocolType.IcmpV6 : ProtocolType.Icmp;
        if (now >= Volatile.Read(ref pingDeniedUntil))
        {
            try
            {
                kind = IcmpSocketKind.Ping;
                return new Socket(family, SocketType.Dgram, protocol);
            }
            catch (SocketException)
            {
                Volatile.Write(ref pingDeniedUntil, now + PingRetry);
            }
        }
        try
        {
            kind = IcmpSocketKind.Raw;
            return new Socket(family, SocketType.Raw, protocol);
        }
        catch (SocketException)
        {
            kind = IcmpSocketKind.Unavailable;
            return null;
        }
    }

    private static ushort AllocateId()
    {
        lock (s_ids)
        {
            for (int i = 0; i < 65536; i++)
            {
                ushort id = s_nextId++;
                if (id != 0 && s_ids.Add(id)) return id;
            }
            return 0;
        }
    }

    /// <summary>An echo request from the guest (on its receive thread).</summary>
    public void FromGuest(MacAddress guestMac, ReadOnlySpan<byte> quote, ReadOnlySpan<byte> echo)
    {
        lock (Gate)
        {
            if (IsClosed) return;
            GuestMac = guestMac;
            Touch();
            StoreQuote(quote);
            if (_kernelIdentifier)
            {
                SendToHost(echo);   // the kernel writes its identifier and the checksum
                return;
            }
            // Our identifier on the wire, in this thread's scratch (the guest's frame is not ours to change).
            var message = GuestReplies.Frame[..echo.Length];
            echo.CopyTo(message);
            BinaryPrimitives.WriteUInt16BigEndian(message[4..], _wireId);
            // ICMPv6 raw sockets have the kernel compute the checksum (RFC 3542 §3.1); ICMPv4 ones do not.
            if (Key.IsIpv4) IcmpPacket.Finish(message, IcmpPacket.TypeEchoRequest, echo[1], message.Length);
            SendToHost(message);
        }
    }

    // Received at the IPv4 header's place: raw sockets (and macOS datagram ones) include it, Linux ping sockets do not.
    // IPv6 ICMP sockets, raw or not, never include the IPv6 header (RFC 3542 §3): the message lands in place.
    protected override Span<byte> ReceiveArea(Span<byte> frame) => frame[(Key.IsIpv4 ? EthernetFrameWriter.Ipv4Offset : EthernetFrameWriter.Ipv6L4Offset)..];

    protected override void OnReceived(Span<byte> frame, int length)
    {
        if (!Key.IsIpv4)
        {
            if (length < Icmpv6Packet.HeaderLength) return;
            var icmp6 = frame.Slice(EthernetFrameWriter.Ipv6L4Offset, length);
            if (icmp6[0] != Icmpv6Packet.TypeEchoReply) return;
            if (!_kernelIdentifier && BinaryPrimitives.ReadUInt16BigEndian(icmp6[4..]) != _wireId) return;
            BinaryPrimitives.WriteUInt16BigEndian(icmp6[4..], Key.GuestPort);
            Icmpv6Packet.Finish(icmp6, Icmpv6Packet.TypeEchoReply, icmp6[1], length, Key.RemoteIp, Key.GuestIp);
            CountToGuest(length);
            Engine.SendToGuest(frame, GuestMac, Key.RemoteIp, Key.GuestIp, IpProtocol.Icmpv6, length);
            return;
        }
        var received = frame.Slice(EthernetFrameWriter.Ipv4Offset, length);
        int skip = 0;
        // An IPv4 header starts with version 4; an ICMP message with its type, and no type is 0x4X.
        if (length >= Ipv4Packet.MinHeaderLength && received[0] >> 4 == 4)
        {
            skip = (received[0] & 0xF) * 4;
            if (skip < Ipv4Packet.MinHeaderLength || skip > length) return;
        }
        int icmpLength = length - skip;
        if (icmpLength < IcmpPacket.HeaderLength) return;
        const int inPlace = EthernetFrameWriter.L4Offset - EthernetFrameWriter.Ipv4Offset;
        if (skip != inPlace) received.Slice(skip, icmpLength).CopyTo(frame[EthernetFrameWriter.L4Offset..]);
        var icmp = frame.Slice(EthernetFrameWriter.L4Offset, icmpLength);
        if (icmp[0] != IcmpPacket.TypeEchoReply) return;   // raw sockets see all ICMP from the remote
        if (!_kernelIdentifier && BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) != _wireId) return;   // another socket's
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], Key.GuestPort);
        IcmpPacket.Finish(icmp, IcmpPacket.TypeEchoReply, icmp[1], icmpLength);
        CountToGuest(icmpLength);
        Engine.SendToGuest(frame, GuestMac, Key.RemoteIpv4, Key.GuestIpv4, IpProtocol.Icmp, icmpLength);
    }

    protected override void OnClosed()
    {
        if (_wireId != 0)
            lock (s_ids) s_ids.Remove(_wireId);
        Engine.Remove(this);
    }
}
