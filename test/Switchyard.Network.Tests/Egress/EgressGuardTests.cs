using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Daemon.Planning;
using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Tests.Egress;

public sealed class EgressGuardTests
{
    private static readonly MacAddress Guest = MacAddress.Parse("02:aa:00:00:00:0a");
    private static readonly MacAddress Stranger = MacAddress.Parse("02:bb:00:00:00:0b");
    private readonly FakeTimeProvider _time = new();
    private readonly GuestEgress _guest = new("agent");
    private readonly GuestEgress _other = new("other");
    private readonly List<EgressDecision> _log = [];
    private readonly EgressGuard _guard;

    public EgressGuardTests()
    {
        _guard = new EgressGuard("net", mac => mac == Guest ? _guest : mac == Stranger ? _other : null, new ListAudit(_log), _time)
        {
            Policy = RuleSpecs.CreatePolicy("deny", ["allowed.example"], []),
        };
    }

    private sealed class ListAudit(List<EgressDecision> log) : IEgressAudit
    {
        public void Record(EgressDecision decision) { lock (log) log.Add(decision); }
    }

    /// <summary>A response to an A query for <paramref name="name"/> with one answer.</summary>
    private static byte[] Answer(string name, string address, uint ttl)
    {
        var buffer = new byte[512];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(new DnsHeader(1, 0x8180, 1, 0, 0, 0));
        w.TryWriteQuestion(new DnsQuestion(name, DnsType.A, DnsClass.IN));
        w.TryWriteA(name, ttl, Ipv4Address.Parse(address));
        return buffer.AsSpan(0, w.Finish()).ToArray();
    }

    [Fact]
    public void Decisions_are_counted_by_verdict_and_reason_as_recorded()
    {
        Assert.True(_guard.CheckQuery(Guest, "allowed.example"));
        Assert.False(_guard.CheckQuery(Guest, "elsewhere.example"));
        Assert.False(_guard.CheckQuery(Guest, "other.example"));
        _guard.Remember(Guest, "allowed.example", Answer("allowed.example", "198.51.100.10", ttl: 60));
        Assert.True(_guard.CheckFlow(Guest, ProtocolType.Tcp, IPAddress.Parse("198.51.100.10"), 443).Allowed);
        Assert.Equal("not-resolved", _guard.CheckFlow(Stranger, ProtocolType.Tcp, IPAddress.Parse("198.51.100.10"), 443).Reason);
        _guard.SetGuestPolicy(_guest, RuleSpecs.CreatePolicy("deny", [], []));
        Assert.False(_guard.CheckQuery(Guest, "allowed.example"));

        var counts = _guard.Decisions.Snapshot();
        // Exactly what the audit log saw, grouped: no decision is missed or counted twice.
        var expected = _log.GroupBy(d => (d.Allowed, d.Reason)).Select(g => (g.Key.Allowed, g.Key.Reason, (long)g.Count()))
            .OrderByDescending(e => e.Allowed).ThenBy(e => e.Reason, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, counts);
        Assert.Equal(6, counts.Sum(c => c.Count));
        Assert.Contains((false, "not-resolved", 1L), counts);
        Assert.Equal(3, counts.Where(c => !c.Allowed && !c.Reason.StartsWith("endpoint-", StringComparison.Ordinal)).Sum(c => c.Count));
        Assert.Single(counts, c => !c.Allowed && c.Reason.StartsWith("endpoint-", StringComparison.Ordinal));
        Assert.True(counts.TakeWhile(c => c.Allowed).Count() == counts.Count(c => c.Allowed), "allowed first");
    }

    [Fact]
    public void Addresses_are_pinned_for_the_guest_that_asked_and_only_while_the_ttl_and_grace_last()
    {
        Assert.True(_guard.CheckQuery(Guest, "Allowed.Example."));
        _guard.Remember(Guest, "allowed.example.", Answer("allowed.example", "198.51.100.10", ttl: 60));
        var ip = IPAddress.Parse("198.51.100.10");

        Assert.True(_guard.CheckFlow(Guest, ProtocolType.Tcp, ip, 443).Allowed);
        // Another guest never asked: the address is nothing to it.
        Assert.Equal("not-resolved", _guard.CheckFlow(Stranger, ProtocolType.Tcp, ip, 443).Reason);

        _time.Advance(TimeSpan.FromSeconds(60) + EgressGuard.PinGrace - TimeSpan.FromSeconds(1));
        Assert.True(_guard.CheckFlow(Guest, ProtocolType.Tcp, ip, 443).Allowed);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("not-resolved", _guard.CheckFlow(Guest, ProtocolType.Tcp, ip, 443).Reason);
    }

    [Fact]
    public void A_zero_ttl_still_pins_for_the_minimum_lifetime()
    {
        _guard.Remember(Guest, "allowed.example", Answer("allowed.example", "198.51.100.10", ttl: 0));
        _time.Advance(EgressGuard.MinPinLifetime);
        Assert.True(_guard.CheckFlow(Guest, ProtocolType.Tcp, IPAddress.Parse("198.51.100.10"), 80).Allowed);
    }

    [Fact]
    public void A_removed_rule_stops_new_flows_to_addresses_pinned_before()
    {
        _guard.Remember(Guest, "allowed.example", Answer("allowed.example", "198.51.100.10", ttl: 300));
        _guard.Policy = RuleSpecs.CreatePolicy("deny", ["other.example"], []);
        Assert.False(_guard.CheckFlow(Guest, ProtocolType.Tcp, IPAddress.Parse("198.51.100.10"), 443).Allowed);
    }

    [Fact]
    public void A_guest_policy_narrows_the_networks()
    {
        _guard.Policy = RuleSpecs.CreatePolicy("allow", [], []);
        _guard.SetGuestPolicy(_guest, RuleSpecs.CreatePolicy("deny", ["allowed.example"], []));
        Assert.False(_guard.CheckQuery(Guest, "elsewhere.example"));
        Assert.True(_guard.CheckQuery(Stranger, "elsewhere.example"));
        Assert.StartsWith("endpoint-", _log.Last(d => !d.Allowed).Reason);
    }

    [Fact]
    public void Every_decision_is_recorded_with_the_endpoint_and_counted()
    {
        _guard.CheckQuery(Guest, "blocked.example");
        _guard.CheckFlow(Guest, ProtocolType.Udp, IPAddress.Parse("198.51.100.20"), 5000);
        _guard.CheckQuery(Guest, "allowed.example");
        Assert.Equal(3, _log.Count);
        Assert.All(_log, d => Assert.Equal("agent", d.Endpoint));
        Assert.Equal(("dns", "blocked.example", false, "name-not-allowed"), (_log[0].Protocol, _log[0].Name, _log[0].Allowed, _log[0].Reason));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("198.51.100.20"), 5000), _log[1].Destination);
        Assert.Equal((1, 2), (_guest.Allowed, _guest.Denied));
    }

    [Fact]
    public void Without_any_policy_the_guard_is_inactive_and_a_guest_policy_activates_it()
    {
        var guard = new EgressGuard("net", _ => _guest);
        Assert.False(guard.Active);
        guard.SetGuestPolicy(_guest, RuleSpecs.CreatePolicy("deny", [], []));
        Assert.True(guard.Active);
        guard.Forget(_guest);
        Assert.False(guard.Active);
    }
}
