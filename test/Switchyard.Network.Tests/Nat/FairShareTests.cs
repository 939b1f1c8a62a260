using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Dns;
using Switchyard.Network.Nat;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

/// <summary>Per-endpoint shares of the NAT and DNS (issue 16, finding 2; docs/nat.md, "Fair shares"):
/// the counts hold under threads, a guest gets its quarter and the others keep theirs, the new-flow
/// rate, the fd budget across networks, and DNS queries in flight.</summary>
public sealed class FairShareTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();
    private readonly VirtualNetwork _net;
    private readonly FakeTransport _a, _b;
    private readonly UdpEchoServer _server = new();

    public FairShareTests()
    {
        _net = Create(NetworkMode.Nat, time: _time);
        _a = Attach(_net, "alpha", MacA, IpA);
        _b = Attach(_net, "beta", MacB, IpB);
    }

    public void Dispose()
    {
        _net.Dispose();
        _server.Dispose();
    }

    private FlowShare Share(string name) => _net.TryGetEndpoint(name, out var port) ? port.Flows : throw new InvalidOperationException(name);

    private void Udp(FakeTransport t, MacAddress mac, Ipv4Address ip, ushort guestPort) =>
        t.Inject(Frames.Udp(GatewayMac, mac, ip, GatewayIp, guestPort, _server.Port, [1]));

    private static int AdminProhibited(FakeTransport t) =>
        t.Sent.Count(f => Frames.TryIpv4(f, out var ip) && ip.Protocol == IpProtocol.Icmp && ip.Payload.Length >= 2 && ip.Payload[0] == 3 && ip.Payload[1] == 13);

    [Fact]
    public void Admission_never_passes_any_cap_while_eight_threads_take_and_give_back()
    {
        var fds = new FdBudget(limit: 40, reserve: 0);   // capacity 40, one network's share 20
        var admission = new FlowAdmission(fds) { MaxFlows = 64, NewFlowsPerSecond = 1_000_000 };
        var shares = Enumerable.Range(0, 8).Select(i => new FlowShare($"g{i}", maxFlows: i == 0 ? 12 : 0)).ToArray();
        int violations = 0;
        using var done = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            while (!done.IsCancellationRequested)
            {
                if (admission.Total > 20 || fds.Used > 40 || admission.Count(NatProtocol.Udp) > 20
                    || shares[0].Flows > 12 || shares.Skip(1).Any(s => s.Flows > 5 || s.FlowsOf(NatProtocol.Udp) > 5))
                    Interlocked.Increment(ref violations);
            }
        });
        var workers = shares.Select((share, i) => new Thread(() =>
        {
            var held = new Stack<NatProtocol>();
            var random = new Random(i);
            for (int n = 0; n < 50_000; n++)
            {
                if (held.Count > 0 && random.Next(3) == 0) { admission.Release(share, held.Pop()); continue; }
                var protocol = (NatProtocol)random.Next(3);
                if (admission.TryAdmit(share, protocol, n) == FlowRefusal.None) held.Push(protocol);
            }
            while (held.Count > 0) admission.Release(share, held.Pop());
        })).ToArray();
        sampler.Start();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        done.Cancel();
        sampler.Join();

        Assert.Equal(0, violations);
        Assert.Equal(0, admission.Total);
        Assert.Equal(0, fds.Used);
        Assert.All(shares, s => Assert.Equal(0, s.Flows));
        Assert.Equal(20, admission.EffectiveMaxFlows);   // 64 asked, half the fd budget binds
        Assert.Equal(5, admission.EndpointMax(shares[1]));
        Assert.Equal(12, admission.EndpointMax(shares[0]));
    }

    [Fact]
    public void A_guest_gets_a_quarter_of_the_network_and_is_refused_at_once_past_it_while_another_still_opens()
    {
        var nat = _net.Nat!;
        nat.MaxFlows = 8;   // a share of 2 each
        for (ushort p = 0; p < 5; p++) Udp(_a, MacA, IpA, (ushort)(41000 + p));
        Assert.Equal(2, nat.UdpFlowCount);
        Assert.Equal(3, AdminProhibited(_a));   // every flow is live: none of its own to evict
        Assert.Equal(3, Share("alpha").Refused(FlowRefusal.EndpointLimit));
        Assert.Equal(2, Share("alpha").FlowsOf(NatProtocol.Udp));

        Udp(_b, MacB, IpB, 42000);
        Udp(_b, MacB, IpB, 42001);
        Assert.Equal(4, nat.UdpFlowCount);
        Assert.Equal(0, AdminProhibited(_b));
        Assert.Equal(0, Share("beta").RefusedTotal);

        // A guest with its own cap may hold more than the default quarter (never more than the network).
        Share("alpha").MaxFlows = 5;
        Udp(_a, MacA, IpA, 41100);
        Assert.Equal(3, Share("alpha").Flows);
        Assert.Equal(5, nat.UdpFlowCount);
    }

    [Fact]
    public void New_flows_past_the_rate_are_refused_until_the_clock_moves()
    {
        var nat = _net.Nat!;
        nat.NewFlowsPerSecond = 3;
        for (ushort p = 0; p < 5; p++) Udp(_a, MacA, IpA, (ushort)(43000 + p));
        Assert.Equal(3, nat.UdpFlowCount);
        Assert.Equal(2, Share("alpha").Refused(FlowRefusal.Rate));
        Assert.Equal(2, AdminProhibited(_a));
        // Another guest has its own pace.
        Udp(_b, MacB, IpB, 43100);
        Assert.Equal(4, nat.UdpFlowCount);

        _time.Advance(TimeSpan.FromSeconds(1));
        Udp(_a, MacA, IpA, 43010);
        Assert.Equal(5, nat.UdpFlowCount);
        Assert.Equal(2, Share("alpha").Refused(FlowRefusal.Rate));
    }

    [Fact]
    public void The_fd_budget_is_shared_by_every_network_and_no_network_takes_more_than_half()
    {
        var fds = new FdBudget(limit: 10, reserve: 4);   // 6 for NAT flows, 3 a network
        Assert.Equal(6, fds.Capacity);
        Assert.Equal(3, fds.NetworkShare);
        var nets = Enumerable.Range(0, 3).Select(_ => new FlowAdmission(fds)).ToArray();
        var shares = Enumerable.Range(0, 3).Select(i => new FlowShare($"g{i}", maxFlows: 100)).ToArray();   // a guest on each network
        Assert.All(Enumerable.Range(0, 3), _ => Assert.Equal(FlowRefusal.None, nets[0].TryAdmit(shares[0], NatProtocol.Tcp, 0)));
        Assert.Equal(FlowRefusal.NetworkLimit, nets[0].TryAdmit(shares[0], NatProtocol.Udp, 0));
        Assert.All(Enumerable.Range(0, 3), _ => Assert.Equal(FlowRefusal.None, nets[1].TryAdmit(shares[1], NatProtocol.Udp, 0)));
        Assert.Equal(FlowRefusal.FdBudget, nets[2].TryAdmit(shares[2], NatProtocol.Icmp, 0));
        Assert.Equal(0, shares[2].Flows);   // a refusal gives back what it took
        nets[0].Release(shares[0], NatProtocol.Tcp);
        Assert.Equal(FlowRefusal.None, nets[2].TryAdmit(shares[2], NatProtocol.Icmp, 0));
        Assert.Equal(6, fds.Used);
        Assert.Equal(128, FdBudget.DefaultReserve(1024));
        Assert.Equal(4096, FdBudget.DefaultReserve(1 << 20));
    }

    [Fact]
    public async Task A_guest_with_its_share_of_dns_queries_in_flight_is_refused_at_once_and_another_is_not()
    {
        using var upstream = new UdpDnsResponder(silent: true);
        using var forwarder = new DnsForwarder(() => [upstream.EndPoint], new DnsCache(_time), NullLogger.Instance, TimeSpan.FromSeconds(30));
        var shares = new Dictionary<MacAddress, FlowShare> { [MacA] = new("alpha"), [MacB] = new("beta") };
        var dns = new DnsServer(Domain, Subnet, new FakeNames(), forwarder, shares: mac => shares.GetValueOrDefault(mac)) { MaxInFlightPerGuest = 2 };
        var pending = new List<Task<int>>();
        for (int i = 0; i < 2; i++)
            pending.Add(dns.ResolveAsync(DnsTestMessages.Query($"q{i}.example.com", DnsType.A, id: (ushort)i), new byte[512], MacA).AsTask());
        Assert.All(pending, t => Assert.False(t.IsCompleted));
        Assert.Equal(2, shares[MacA].DnsInFlight);

        var response = new byte[512];
        var refused = dns.ResolveAsync(DnsTestMessages.Query("q3.example.com", DnsType.A, id: 3), response, MacA);
        Assert.True(refused.IsCompleted);
        Assert.Equal(DnsResponseCode.Refused, DnsTestMessages.Parse(response.AsSpan(0, await refused)).Header.ResponseCode);
        Assert.Equal(1, dns.RefusedInFlight);
        Assert.Equal(1, shares[MacA].DnsRefused);

        var other = dns.ResolveAsync(DnsTestMessages.Query("q4.example.com", DnsType.A, id: 4), new byte[512], MacB);
        Assert.False(other.IsCompleted);
        Assert.Equal(1, shares[MacB].DnsInFlight);
        forwarder.Dispose();   // every pending query ends (SERVFAIL) and gives its place back
        await Task.WhenAll(pending);
        await other;
        Assert.Equal(0, shares[MacA].DnsInFlight);
        Assert.Equal(0, shares[MacB].DnsInFlight);
    }
}
