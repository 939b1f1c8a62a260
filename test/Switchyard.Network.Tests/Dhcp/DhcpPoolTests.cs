using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Dhcp;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Dhcp;

/// <summary>The dynamic pool for clients with no endpoint (guests behind a tunnel): allocation,
/// binding, expiry, quarantine, names, restore and range changes, on a fake clock.</summary>
public sealed class DhcpPoolTests
{
    private static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.77.0.0/24");
    private static readonly DhcpRange Range = new(Ipv4Address.Parse("10.77.0.200"), Ipv4Address.Parse("10.77.0.202"));
    private static readonly MacAddress M1 = MacAddress.Parse("02:11:00:00:00:01");
    private static readonly MacAddress M2 = MacAddress.Parse("02:11:00:00:00:02");
    private static readonly MacAddress M3 = MacAddress.Parse("02:11:00:00:00:03");
    private static readonly MacAddress M4 = MacAddress.Parse("02:11:00:00:00:04");
    private static readonly TimeSpan LeaseTime = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
    private readonly HashSet<Ipv4Address> _reserved = [];
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase) { "gateway", "host", "alpha" };
    private readonly List<RemoteLease> _changes = [];
    private readonly List<Ipv4Address> _retired = [];
    private readonly DhcpPool _pool;

    public DhcpPoolTests()
    {
        _pool = new DhcpPool(Range, LeaseTime, _time, _reserved.Contains, _names.Contains);
        _pool.Changed += _changes.Add;
        _pool.AddressRetired += _retired.Add;
    }

    private static Ipv4Address A(int last) => Ipv4Address.Parse($"10.77.0.{last}");

    private Ipv4Address Lease(MacAddress mac, string? name = null)
    {
        Assert.True(_pool.TryOffer(mac, null, name, out var offered));
        Assert.True(_pool.TryBind(mac, offered, name, out _));
        return offered;
    }

    [Fact]
    public void Offers_the_lowest_free_address_and_the_same_one_again_to_the_same_client()
    {
        Assert.True(_pool.TryOffer(M1, null, null, out var first));
        Assert.Equal(A(200), first);
        Assert.True(_pool.TryOffer(M2, null, null, out var second));
        Assert.Equal(A(201), second);
        Assert.True(_pool.TryOffer(M1, null, null, out var again));
        Assert.Equal(first, again);
        Assert.Empty(_changes);   // offers are not stored
    }

    [Fact]
    public void A_requested_free_address_is_offered_and_one_outside_the_range_is_not()
    {
        Assert.True(_pool.TryOffer(M1, A(202), null, out var offered));
        Assert.Equal(A(202), offered);
        Assert.True(_pool.TryOffer(M2, A(50), null, out var other));
        Assert.Equal(A(200), other);
    }

    [Fact]
    public void Request_binds_and_is_reported_with_a_lease_time()
    {
        Assert.True(_pool.TryOffer(M1, null, "Web-1", out var offered));
        Assert.True(_pool.TryBind(M1, offered, "Web-1", out var expires));
        Assert.Equal(_time.GetUtcNow() + LeaseTime, expires);
        var change = Assert.Single(_changes);
        Assert.Equal(new RemoteLease(M1, offered, "Web-1", LeaseState.Bound, expires), change);
        Assert.True(_pool.TryGet(M1, out var guest));
        Assert.True(guest.IsBound(_time.GetUtcNow().UtcTicks));
    }

    [Fact]
    public void Another_clients_address_is_refused_until_its_lease_expires()
    {
        var taken = Lease(M1);
        Assert.False(_pool.TryBind(M2, taken, null, out _));
        _time.Advance(LeaseTime + TimeSpan.FromSeconds(1));
        Assert.True(_pool.TryBind(M2, taken, null, out _));
        Assert.False(_pool.TryGet(M1, out _));   // the expired record gave its address up
        Assert.Contains(taken, _retired);
        Assert.Contains(_changes, c => c.Mac == M1 && c.State == LeaseState.Declined);
    }

    [Fact]
    public void An_exhausted_pool_offers_nothing_until_an_offer_lapses()
    {
        Assert.True(_pool.TryOffer(M1, null, null, out _));
        Assert.True(_pool.TryOffer(M2, null, null, out _));
        Assert.True(_pool.TryOffer(M3, null, null, out _));
        Assert.False(_pool.TryOffer(M4, null, null, out _));
        Assert.Equal(1, _pool.Exhausted);
        // Offers are held briefly, not for a lease time: made-up MACs cannot hold the pool.
        _time.Advance(DhcpPool.OfferHold + TimeSpan.FromSeconds(1));
        Assert.True(_pool.TryOffer(M4, null, null, out var reused));
        Assert.Equal(A(200), reused);
        Assert.Equal(3, _pool.Guests.Count);   // one record per address, whatever the number of MACs
    }

    [Fact]
    public void Reserved_addresses_are_skipped_and_a_reserved_lease_is_not_renewed()
    {
        var first = Lease(M1);
        Assert.Equal(A(200), first);
        _reserved.Add(A(200));   // an endpoint pinned there meanwhile
        Assert.False(_pool.TryBind(M1, first, null, out _));
        Assert.True(_pool.TryOffer(M1, null, null, out var moved));
        Assert.Equal(A(201), moved);
    }

    [Fact]
    public void A_declined_address_is_quarantined_for_an_hour()
    {
        var declined = Lease(M1);
        _pool.Decline(M1, declined);
        Assert.Contains(_changes, c => c.Mac == M1 && c.State == LeaseState.Declined);
        Assert.True(_pool.TryOffer(M1, declined, null, out var next));
        Assert.NotEqual(declined, next);
        Assert.False(_pool.TryBind(M2, declined, null, out _));
        _time.Advance(DhcpPool.QuarantineTime + TimeSpan.FromSeconds(1));
        Assert.True(_pool.TryBind(M2, declined, null, out _));
    }

    [Fact]
    public void A_released_address_goes_back_to_its_client_first_but_no_longer_passes_as_bound()
    {
        var address = Lease(M1);
        _pool.Release(M1, address);
        Assert.True(_pool.TryGet(M1, out var guest));
        Assert.False(guest.IsBound(_time.GetUtcNow().UtcTicks));
        Assert.Equal(LeaseState.Released, _changes[^1].State);
        Assert.True(_pool.TryOffer(M1, null, null, out var again));
        Assert.Equal(address, again);
    }

    [Fact]
    public void Names_are_not_taken_from_the_network_or_another_guest_and_free_again_when_it_expires()
    {
        Lease(M1, "web");
        Assert.True(_pool.TryGetAddress("WEB", out var web));
        Assert.Equal(M1, web.Mac);
        Lease(M2, "web");   // taken by M1: M2 gets an address, no name
        Assert.True(_pool.TryGet(M2, out var second));
        Assert.Null(second.HostName);
        Lease(M3, "alpha");   // an endpoint's name
        Assert.True(_pool.TryGet(M3, out var third));
        Assert.Null(third.HostName);
        Assert.Equal(2, _pool.NamesRefused);
        Assert.True(_pool.TryGetName(web.Address, out var ptr));
        Assert.Equal("web", ptr);

        _time.Advance(LeaseTime + TimeSpan.FromSeconds(1));
        Assert.False(_pool.TryGetAddress("web", out _));   // an expired lease answers no DNS
        Assert.True(_pool.TryOffer(M4, null, "web", out var a4));
        Assert.True(_pool.TryBind(M4, a4, "web", out _));
        Assert.True(_pool.TryGetAddress("web", out var now));
        Assert.Equal(M4, now.Mac);
    }

    [Fact]
    public void A_renewal_without_a_host_name_keeps_the_name()
    {
        var address = Lease(M1, "db");
        Assert.True(_pool.TryBind(M1, address, null, out _));
        Assert.True(_pool.TryGetAddress("db", out _));
    }

    [Fact]
    public void Restored_leases_answer_at_once_and_keep_their_addresses()
    {
        var expires = _time.GetUtcNow() + TimeSpan.FromMinutes(30);
        _pool.Restore([new RemoteLease(M2, A(201), "cache", LeaseState.Bound, expires), new RemoteLease(M3, A(99), "out", LeaseState.Bound, expires)]);
        Assert.True(_pool.TryGetAddress("cache", out var cache));
        Assert.Equal(A(201), cache.Address);
        Assert.False(_pool.TryGet(M3, out _));   // outside the range: not ours any more
        Assert.True(_pool.TryOffer(M1, A(201), null, out var other));
        Assert.NotEqual(A(201), other);
        Assert.True(_pool.TryBind(M2, A(201), null, out _));   // INIT-REBOOT after the restart
    }

    [Fact]
    public void A_new_range_forgets_leases_outside_it_and_no_range_answers_nobody()
    {
        var address = Lease(M1);
        _pool.SetRange(new DhcpRange(A(210), A(220)));
        Assert.False(_pool.TryGet(M1, out _));
        Assert.Contains(address, _retired);
        Assert.True(_pool.TryOffer(M1, null, null, out var moved));
        Assert.Equal(A(210), moved);
        _pool.SetRange(null);
        Assert.False(_pool.TryOffer(M2, null, null, out _));
        Assert.False(_pool.TryBind(M2, A(211), null, out _));
    }
}
