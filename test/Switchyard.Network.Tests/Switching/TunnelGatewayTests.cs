using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Nat;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Switching;

/// <summary>A gateway network with an uplink (what a VXLAN tunnel is to the switch), driven through a
/// fake one: guests behind it lease from the dynamic pool, are known to DNS by their host names,
/// reach local guests and the NAT, and may send only from their leases.</summary>
public sealed class TunnelGatewayTests : IDisposable
{
    private static readonly MacAddress RemoteMac = MacAddress.Parse("02:77:00:00:00:01");
    private static readonly MacAddress OtherRemote = MacAddress.Parse("02:77:00:00:00:02");
    private static readonly DhcpRange Range = new(Ipv4Address.Parse("10.88.0.128"), Ipv4Address.Parse("10.88.0.254"));
    private static readonly Ipv4Address FirstPooled = Range.First;

    private readonly FakeEvents _events = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeUplink _uplink = new();
    private VirtualNetwork _net;
    private FakeTransport _alpha;

    public TunnelGatewayTests()
    {
        _net = Build(NetworkMode.Internal, Range, _time);
        _alpha = Attach(_net, "alpha", MacA, IpA);
    }

    public void Dispose() => _net.Dispose();

    private VirtualNetwork Build(NetworkMode mode, DhcpRange? range, TimeProvider? time) =>
        new(new NetworkConfig("vx", mode, Subnet, 1450, Domain, GatewayMac, () => [], TimeSpan.FromHours(1), DhcpRange: range),
            _events, NullLoggerFactory.Instance, _uplink, time: time);

    private sealed class FakeUplink : IUplinkTransport
    {
        public FakeTransport Frames { get; } = new();
        public string Interface => "vxlan:42";
        public string Kind => "fake-tunnel";
        public bool SupportsOffload => false;
        public void SetGuests(IReadOnlyCollection<MacAddress> macs) { }
        public void Start(FrameHandler onFrame) => Frames.Start(onFrame);
        public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => Frames.TrySend(frame, offload);
        public void Dispose() => Frames.Dispose();
    }

    private static byte[] DhcpFrame(MacAddress mac, DhcpMessageType type, Ipv4Address? requested = null, string? hostName = null, Ipv4Address? serverId = null)
    {
        var msg = new byte[400];
        int n = DhcpClientMessage.WriteRequest(msg, type, 0x5150, mac, Ipv4Address.Any, requested, serverId, [1, 3, 6, 12], hostName);
        return Frames.Udp(MacAddress.Broadcast, mac, Ipv4Address.Any, Ipv4Address.Broadcast, 68, 67, msg.AsSpan(0, n));
    }

    /// <summary>The DHCP replies the gateway sent out the uplink, parsed: type, yiaddr, host name.</summary>
    private List<(DhcpMessageType? Type, Ipv4Address Yiaddr, string? HostName)> DhcpReplies()
    {
        var replies = new List<(DhcpMessageType?, Ipv4Address, string?)>();
        foreach (var frame in _uplink.Frames.Sent)
        {
            if (!Frames.TryIpv4(frame, out var ip) || !UdpDatagram.TryParse(ip.Payload, out var udp) || udp.SourcePort != 67) continue;
            Assert.True(DhcpMessageReader.TryParse(udp.Payload, out var reply));
            var name = reply.HostName.IsEmpty ? null : System.Text.Encoding.ASCII.GetString(reply.HostName);
            replies.Add((reply.MessageType, reply.YourAddress, name));
        }
        return replies;
    }

    private Ipv4Address LeaseRemote(MacAddress mac, string? hostName)
    {
        _uplink.Frames.Inject(DhcpFrame(mac, DhcpMessageType.Discover, hostName: hostName));
        var offer = DhcpReplies()[^1];
        Assert.Equal(DhcpMessageType.Offer, offer.Type);
        _uplink.Frames.Inject(DhcpFrame(mac, DhcpMessageType.Request, offer.Yiaddr, hostName, GatewayIp));
        var ack = DhcpReplies()[^1];
        Assert.Equal(DhcpMessageType.Ack, ack.Type);
        Assert.Equal(offer.Yiaddr, ack.Yiaddr);
        return ack.Yiaddr;
    }

    private DnsReply Ask(FakeTransport guest, MacAddress mac, Ipv4Address ip, string name, DnsType type)
    {
        int before = guest.Sent.Count;
        guest.Inject(Frames.Udp(GatewayMac, mac, ip, GatewayIp, 40000, 53, DnsTestMessages.Query(name, type)));
        var frame = Assert.Single(guest.Sent.Skip(before));
        Assert.True(Frames.TryIpv4(frame, out var reply));
        Assert.True(UdpDatagram.TryParse(reply.Payload, out var udp));
        return DnsTestMessages.Parse(udp.Payload);
    }

    [Fact]
    public void A_guest_behind_the_uplink_leases_from_the_pool_and_the_lease_is_reported()
    {
        var leased = LeaseRemote(RemoteMac, "Remote_1");
        Assert.Equal(FirstPooled, leased);
        var ack = DhcpReplies()[^1];
        Assert.Equal("remote-1", ack.HostName);   // the label it is known by, in its ACK
        var stored = Assert.Single(_events.RemoteLeases);
        Assert.Equal((RemoteMac, leased, "remote-1", LeaseState.Bound), (stored.Mac, stored.Address, stored.HostName, stored.State));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromHours(1), stored.Expires);
        Assert.DoesNotContain(_alpha.Sent, f => Frames.TryIpv4(f, out var ip) && UdpDatagram.TryParse(ip.Payload, out var u) && u.SourcePort == 67);
    }

    [Fact]
    public void A_local_guest_resolves_the_remote_guest_by_name_and_they_reach_each_other()
    {
        var leased = LeaseRemote(RemoteMac, "remote-1");
        var a = Ask(_alpha, MacA, IpA, $"remote-1.{Domain}", DnsType.A);
        Assert.Equal(leased, Assert.Single(a.Answers).Address);
        var reversed = string.Join('.', leased.ToString().Split('.').Reverse()) + ".in-addr.arpa";
        var ptr = Ask(_alpha, MacA, IpA, reversed, DnsType.PTR);
        Assert.Equal($"remote-1.{Domain}", Assert.Single(ptr.Answers).Target);

        // Local to remote: out of the uplink (the switch learnt the remote MAC there).
        int before = _uplink.Frames.Sent.Count;
        _alpha.Inject(Frames.IcmpEcho(RemoteMac, MacA, IpA, leased, 7, 1, [1, 2, 3]));
        Assert.Single(_uplink.Frames.Sent.Skip(before));
        // Remote to local, and the remote guest asks the gateway's DNS for the local one.
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, RemoteMac, leased, IpA, 7, 1, [1, 2, 3]));
        Assert.Contains(_alpha.Sent, f => Frames.TryIpv4(f, out var ip) && ip.Source == leased);
        var back = Ask(_uplink.Frames, RemoteMac, leased, $"alpha.{Domain}", DnsType.A);
        Assert.Equal(IpA, Assert.Single(back.Answers).Address);
    }

    [Fact]
    public void Frames_from_the_uplink_pass_only_from_a_bound_lease()
    {
        var uplink = _net.Uplink!;
        // Before any lease: an address of the subnet is spoofing, and reaches neither the gateway nor alpha.
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, RemoteMac, FirstPooled, IpA, 1, 1, [1]));
        _uplink.Frames.Inject(Frames.Udp(GatewayMac, RemoteMac, FirstPooled, GatewayIp, 40000, 53, DnsTestMessages.Query($"alpha.{Domain}", DnsType.A)));
        Assert.Equal(2, uplink.Counters.Dropped(DropReason.SpoofedIp));
        // A local guest's or the gateway's MAC from the tunnel would steal its traffic.
        _uplink.Frames.Inject(Frames.IcmpEcho(GatewayMac, MacA, IpA, GatewayIp, 1, 2, [1]));
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, GatewayMac, GatewayIp, IpA, 1, 3, [1]));
        Assert.Equal(2, uplink.Counters.Dropped(DropReason.SpoofedMac));
        // Only the gateway serves DHCP on this segment.
        _uplink.Frames.Inject(Frames.Udp(MacAddress.Broadcast, OtherRemote, Ipv4Address.Parse("10.88.0.99"), Ipv4Address.Broadcast, 67, 68, new byte[300]));
        Assert.Equal(1, uplink.Counters.Dropped(DropReason.Policy));
        Assert.Empty(_alpha.Sent);
        Predicate<byte[]> icmp = f => Frames.TryIpv4(f, out var p) && p.Protocol == IpProtocol.Icmp;

        var leased = LeaseRemote(RemoteMac, null);
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, RemoteMac, leased, IpA, 1, 4, [1]));
        Assert.Single(_alpha.Sent, icmp);
        // Another address of the same MAC, or its address from another MAC: spoofing.
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, RemoteMac, leased + 1, IpA, 1, 5, [1]));
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, OtherRemote, leased, IpA, 1, 6, [1]));
        _uplink.Frames.Inject(Frames.Arp(MacAddress.Broadcast, 1, OtherRemote, leased, MacAddress.Zero, IpA));
        Assert.Equal(5, uplink.Counters.Dropped(DropReason.SpoofedIp));
        // An expired lease passes no more.
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, RemoteMac, leased, IpA, 1, 7, [1]));
        Assert.Equal(6, uplink.Counters.Dropped(DropReason.SpoofedIp));
        Assert.Single(_alpha.Sent, icmp);   // (the others: its DHCP broadcasts, flooded as on any segment)
    }

    [Fact]
    public void A_remote_guest_cannot_take_an_endpoints_name()
    {
        LeaseRemote(RemoteMac, "alpha");
        Assert.Null(DhcpReplies()[^1].HostName);
        Assert.Null(Assert.Single(_events.RemoteLeases).HostName);
        Assert.Equal(IpA, Assert.Single(Ask(_alpha, MacA, IpA, $"alpha.{Domain}", DnsType.A).Answers).Address);
        Assert.Equal(1, _net.Dhcp.Pool!.NamesRefused);
    }

    [Fact]
    public void Restored_leases_pass_the_guard_and_answer_dns_at_once()
    {
        var leased = Ipv4Address.Parse("10.88.0.200");
        _net.RestoreRemoteLeases([new RemoteLease(RemoteMac, leased, "kept", LeaseState.Bound, _time.GetUtcNow() + TimeSpan.FromMinutes(20))]);
        _uplink.Frames.Inject(Frames.IcmpEcho(MacA, RemoteMac, leased, IpA, 1, 1, [1]));
        Assert.Single(_alpha.Sent);
        Assert.Equal(leased, Assert.Single(Ask(_alpha, MacA, IpA, $"kept.{Domain}", DnsType.A).Answers).Address);
    }

    [Fact]
    public void Without_a_range_the_gateway_does_not_answer_clients_it_has_no_endpoint_for()
    {
        _net.Dispose();
        _net = Build(NetworkMode.Internal, range: null, _time);
        _alpha = Attach(_net, "alpha", MacA, IpA);
        _uplink.Frames.Clear();
        _uplink.Frames.Inject(DhcpFrame(RemoteMac, DhcpMessageType.Discover));
        Assert.Empty(DhcpReplies());
        _net.SetDhcpRange(Range);   // network update --dhcp-range: at once
        _uplink.Frames.Inject(DhcpFrame(RemoteMac, DhcpMessageType.Discover));
        Assert.Equal(FirstPooled, Assert.Single(DhcpReplies()).Yiaddr);
    }

    [Fact]
    public void A_remote_guest_reaches_the_hosts_loopback_through_the_nat_with_its_own_share()
    {
        _net.Dispose();
        _net = Build(NetworkMode.Nat, Range, time: null);   // real clock: real host sockets
        var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        try
        {
            ushort port = (ushort)((IPEndPoint)server.LocalEndpoint).Port;
            var leased = LeaseRemote(RemoteMac, "remote-1");
            // From an address it holds no lease for: dropped before the NAT sees it.
            _uplink.Frames.Inject(Frames.Tcp(GatewayMac, RemoteMac, leased + 5, GatewayIp, 41000, port, 1000, 0, TcpFlags.Syn));
            Assert.Equal(0, _net.Nat!.TcpFlowCount);
            _uplink.Frames.Inject(Frames.Tcp(GatewayMac, RemoteMac, leased, GatewayIp, 41000, port, 1000, 0, TcpFlags.Syn));
            var synAck = _uplink.Frames.WaitFor(f => Frames.IsTcp(f, t => t.Flags.HasFlag(TcpFlags.Syn | TcpFlags.Ack)), TimeSpan.FromSeconds(10));
            Assert.NotNull(synAck);
            Assert.True(Frames.TryIpv4(synAck!, out var ip));
            Assert.Equal(leased, ip.Destination);
            Assert.True(_net.Dhcp.Pool!.TryGet(RemoteMac, out var guest));
            Assert.Equal(1, guest.Flows.FlowsOf(NatProtocol.Tcp));   // its own share, not the strangers'
        }
        finally { server.Stop(); }
    }
}
