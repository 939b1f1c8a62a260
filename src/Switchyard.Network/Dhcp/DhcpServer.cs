using Switchyard.Packets;
using Switchyard.Packets.Dhcp;

namespace Switchyard.Network.Dhcp;

/// <summary>Settings the server hands to every client (RFC 2132 options).</summary>
public sealed record DhcpServerOptions(
    Ipv4Subnet Subnet,
    Ipv4Address ServerAddress,
    string Domain,
    int Mtu,
    TimeSpan LeaseTime);

/// <summary>A DHCPv4 server (RFC 2131) for one network. An endpoint's address is not chosen here:
/// IPAM reserved one per endpoint when it attached, so the server only tells each client its address
/// and keeps the lease state. A client is known by its MAC, which anti-spoofing ties to its port.
/// Clients with no endpoint (guests behind a VXLAN tunnel) lease from the <see cref="DhcpPool"/>
/// when the network has one (DhcpServer.Pool.cs), and are ignored otherwise.</summary>
public sealed partial class DhcpServer
{
    public const ushort ServerPort = 67;
    public const ushort ClientPort = 68;

    private readonly DhcpServerOptions _options;
    private readonly IDhcpBindings _bindings;
    private readonly TimeProvider _time;
    private readonly string[] _searchDomains;

    /// <param name="pool">Addresses for clients with no endpoint; null: such clients get no answer.</param>
    public DhcpServer(DhcpServerOptions options, IDhcpBindings bindings, TimeProvider? time = null, DhcpPool? pool = null)
    {
        _options = options;
        _bindings = bindings;
        _time = time ?? TimeProvider.System;
        _searchDomains = [options.Domain];
        Pool = pool;
    }

    /// <summary>The dynamic pool of clients without an endpoint (null: none).</summary>
    public DhcpPool? Pool { get; }

    public long MalformedCount => Volatile.Read(ref _malformed);
    private long _malformed;

    /// <summary>Messages received and replies sent, by type.</summary>
    public DhcpCounters Counters { get; } = new();

    /// <summary>Handles one client message. Writes the BOOTP reply into <paramref name="reply"/>
    /// and returns its length, or 0 when no reply is due (RFC 2131 §4.3: DECLINE and RELEASE
    /// get none; a REQUEST for another server is ignored).</summary>
    /// <param name="sender">The frame's source MAC, which anti-spoofing vouches for: a message
    /// whose chaddr names another client is ignored, so no guest can decline, release or take
    /// another guest's lease.</param>
    public int Handle(ReadOnlySpan<byte> request, MacAddress sender, Span<byte> reply, out bool broadcast)
    {
        broadcast = false;
        if (!DhcpMessageReader.TryParse(request, out var msg) || msg.Op != 1 || msg.MessageType is not DhcpMessageType type)
        {
            Interlocked.Increment(ref _malformed);
            return 0;
        }
        Counters.CountReceived(type);
        var client = msg.ClientHardwareAddress;
        if (client != sender) return 0;
        if (!_bindings.TryGetBinding(client, out var binding))
            // Not an endpoint: the pool's, or not ours (stay silent, as a relay-less server must).
            return Pool is { } pool ? HandlePooled(pool, msg, type, client, reply, out broadcast) : 0;
        var now = _time.GetUtcNow();

        switch (type)
        {
            case DhcpMessageType.Discover:
                _bindings.OnLeaseChanged(client, binding.Address, LeaseState.Offered, now + _options.LeaseTime);
                broadcast = msg.BroadcastFlag;
                return WriteReply(msg, DhcpMessageType.Offer, binding, reply);

            case DhcpMessageType.Request:
                {
                    // RFC 2131 §4.3.2: SELECTING carries a server identifier; INIT-REBOOT carries a
                    // requested address but no server identifier; RENEWING/REBINDING carry ciaddr.
                    var serverId = msg.ServerIdentifier;
                    if (serverId is { } sid && sid != _options.ServerAddress) return 0;
                    var wanted = msg.RequestedIpAddress ?? msg.ClientAddress;
                    if (wanted != binding.Address)
                    {
                        broadcast = true; // §4.3.2: a NAK is broadcast when the client may not have a usable address
                        return WriteNak(msg, reply);
                    }
                    _bindings.OnLeaseChanged(client, binding.Address, LeaseState.Bound, now + _options.LeaseTime);
                    broadcast = msg.BroadcastFlag;
                    return WriteReply(msg, DhcpMessageType.Ack, binding, reply);
                }

            case DhcpMessageType.Decline:
                if (msg.RequestedIpAddress is { } declined && declined == binding.Address)
                    _bindings.TryReassign(client, declined, out _);
                return 0;

            case DhcpMessageType.Release:
                if (msg.ClientAddress == binding.Address)
                    _bindings.OnLeaseChanged(client, binding.Address, LeaseState.Released, now);
                return 0;

            case DhcpMessageType.Inform:
                // §4.3.5: configuration only; no lease time and no yiaddr.
                return WriteReply(msg, DhcpMessageType.Ack, binding with { Address = Ipv4Address.Any }, reply, inform: true);

            default:
                return 0;
        }
    }

    private int WriteReply(in DhcpMessageReader request, DhcpMessageType type, DhcpBinding binding, Span<byte> reply, bool inform = false)
    {
        var w = new DhcpMessageWriter(reply);
        w.WriteReplyHeader(request, binding.Address, _options.ServerAddress);
        var o = _options;
        Span<Ipv4Address> dns = [o.ServerAddress];
        bool ok = w.TryWriteMessageType(type)
            && w.TryWriteAddress(DhcpOption.ServerIdentifier, o.ServerAddress)
            && (inform || w.TryWriteUInt32(DhcpOption.LeaseTime, (uint)o.LeaseTime.TotalSeconds))
            // T1 = 0.5 and T2 = 0.875 of the lease (RFC 2131 §4.4.5 defaults).
            && (inform || w.TryWriteUInt32(DhcpOption.RenewalTime, (uint)(o.LeaseTime.TotalSeconds / 2)))
            && (inform || w.TryWriteUInt32(DhcpOption.RebindingTime, (uint)(o.LeaseTime.TotalSeconds * 7 / 8)))
            && w.TryWriteAddress(DhcpOption.SubnetMask, o.Subnet.MaskAddress)
            && w.TryWriteAddress(DhcpOption.BroadcastAddress, o.Subnet.BroadcastAddress)
            // RFC 2132 §3.5: without option 3 the client installs no default route through us.
            && (!binding.DefaultRoute || w.TryWriteAddress(DhcpOption.Router, o.ServerAddress))
            && w.TryWriteAddresses(DhcpOption.DomainNameServer, dns)
            && (binding.HostName.Length == 0 || w.TryWriteString(DhcpOption.HostName, binding.HostName))
            && w.TryWriteString(DhcpOption.DomainName, o.Domain)
            && w.TryWriteDomainSearch(_searchDomains)
            // Option 26 only when it differs from Ethernet's default, as most servers do.
            && (o.Mtu == 1500 || w.TryWriteUInt16(DhcpOption.InterfaceMtu, (ushort)o.Mtu));
        if (!ok) return 0;
        Counters.CountSent(type);
        return w.Finish();
    }

    private int WriteNak(in DhcpMessageReader request, Span<byte> reply)
    {
        var w = new DhcpMessageWriter(reply);
        w.WriteReplyHeader(request, Ipv4Address.Any, Ipv4Address.Any);
        // RFC 2131 §4.3.1 table 3: a DHCPNAK carries ciaddr 0 (the header copies it for ACKs).
        Ipv4Address.Any.Write(reply[DhcpLayout.CiaddrOffset..]);
        if (!w.TryWriteMessageType(DhcpMessageType.Nak) || !w.TryWriteAddress(DhcpOption.ServerIdentifier, _options.ServerAddress)) return 0;
        Counters.CountSent(DhcpMessageType.Nak);
        return w.Finish();
    }
}
