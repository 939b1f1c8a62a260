using System.Collections.Concurrent;
using Switchyard.Packets;

namespace Switchyard.Network.Dhcp;

/// <summary>
/// The dynamic pool: addresses for DHCP clients the network has no endpoint for (guests behind a
/// VXLAN tunnel on a gateway host). Endpoints get their addresses from IPAM at attach, outside
/// <see cref="Range"/>; a client here is known by its MAC only (the tunnel guard ties its frames to
/// the address it holds). One record per MAC, each holding a distinct address, so the table never
/// grows past the range however many MACs a peer makes up.
/// <para>Allocation (RFC 2131 section 4.3.1): the client's own previous address, else the one it asks
/// for if free, else the lowest free one, else the address of the longest-expired or released
/// record, which that record gives up. Offers are held briefly (<see cref="OfferHold"/>) so DISCOVERs
/// from made-up MACs cannot hold the pool for a lease time. A declined address (section 4.4.1) is
/// kept from everyone for <see cref="QuarantineTime"/>.</para>
/// <para>Changes run under one lock, taken only by DHCP messages and the control plane (restore,
/// listings); the data path reads <see cref="TryGet"/> lock-free.</para>
/// </summary>
public sealed class DhcpPool
{
    public static readonly TimeSpan OfferHold = TimeSpan.FromMinutes(2);
    public static readonly TimeSpan QuarantineTime = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<MacAddress, RemoteGuest> _byMac = new();
    private readonly Dictionary<uint, RemoteGuest> _byAddress = [];
    private readonly Dictionary<uint, DateTimeOffset> _quarantine = [];
    private readonly Lock _lock = new();
    private readonly TimeSpan _leaseTime;
    private readonly TimeProvider _time;
    private readonly Func<Ipv4Address, bool> _reserved;
    private readonly Func<string, bool> _nameTaken;
    private long _exhausted, _namesRefused;

    /// <param name="reserved">Addresses in the range that are not the pool's to give (an endpoint
    /// pinned there before the range was set); checked at allocation.</param>
    /// <param name="nameTaken">Whether a host name is already the network's (an endpoint's name or
    /// alias, "gateway", "host"): a client asking for it gets no DNS name, never the endpoint's.</param>
    /// <param name="range">The addresses to give; null: none yet (the pool stays silent until <see cref="SetRange"/>).</param>
    public DhcpPool(DhcpRange? range, TimeSpan leaseTime, TimeProvider time, Func<Ipv4Address, bool> reserved, Func<string, bool> nameTaken)
    {
        _range = range;
        _leaseTime = leaseTime;
        _time = time;
        _reserved = reserved;
        _nameTaken = nameTaken;
    }

    private DhcpRange? _range;

    /// <summary>The addresses the pool gives; null: none (clients without an endpoint get no answer).</summary>
    public DhcpRange? Range
    {
        get { lock (_lock) return _range; }
    }

    /// <summary>Changes the range live (<c>yard network update --dhcp-range</c>): leases outside the
    /// new one are forgotten (their guests' renewals get a NAK, and they DISCOVER a new address).</summary>
    public void SetRange(DhcpRange? range)
    {
        lock (_lock)
        {
            _range = range;
            foreach (var guest in _byMac.Values)
                if (range is not { } r || !r.Contains(guest.Address)) Forget(guest);
        }
    }

    /// <summary>A lease was bound, renewed, released or given up (declined, or its address taken by
    /// another client: <see cref="LeaseState.Declined"/> then means "forget this MAC's lease").
    /// Raised under the pool's lock on the DHCP client's thread: enqueue only.</summary>
    public event Action<RemoteLease>? Changed;

    /// <summary>An address stopped being a guest's (moved to another MAC or declined): the NAT forgets its flows.</summary>
    public event Action<Ipv4Address>? AddressRetired;

    /// <summary>DISCOVERs that found no free address.</summary>
    public long Exhausted => Interlocked.Read(ref _exhausted);

    /// <summary>Host names not registered because another guest or endpoint has them.</summary>
    public long NamesRefused => Interlocked.Read(ref _namesRefused);

    public IReadOnlyCollection<RemoteGuest> Guests => (IReadOnlyCollection<RemoteGuest>)_byMac.Values;

    /// <summary>The guest behind <paramref name="mac"/>, lock-free (the per-frame tunnel guard, NAT shares, egress).</summary>
    public bool TryGet(MacAddress mac, out RemoteGuest guest) => _byMac.TryGetValue(mac, out guest!);

    /// <summary>DHCPDISCOVER: picks an address and holds it for the client for <see cref="OfferHold"/>.</summary>
    public bool TryOffer(MacAddress mac, Ipv4Address? requested, string? hostName, out Ipv4Address offered)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            _byMac.TryGetValue(mac, out var guest);
            if (!TryChoose(guest, requested, now, out offered))
            {
                Interlocked.Increment(ref _exhausted);
                return false;
            }
            // An offer never shortens a bound lease the client still holds (a DISCOVER in INIT-REBOOT's stead).
            var state = guest is not null && guest.Address == offered && guest.IsBound(now.UtcTicks) ? LeaseState.Bound : LeaseState.Offered;
            var expires = state == LeaseState.Bound ? guest!.Expires : now + OfferHold;
            Assign(mac, guest, offered, NameFor(mac, hostName, now, count: false), state, expires, now);
            return true;
        }
    }

    /// <summary>DHCPREQUEST for <paramref name="wanted"/> (selecting, init-reboot, renewing or rebinding):
    /// true and the lease bound for a lease time when the address is the client's or free in the
    /// range; false for a NAK (another's, quarantined, outside the range).</summary>
    public bool TryBind(MacAddress mac, Ipv4Address wanted, string? hostName, out DateTimeOffset expires)
    {
        var now = _time.GetUtcNow();
        expires = now + _leaseTime;
        lock (_lock)
        {
            _byMac.TryGetValue(mac, out var guest);
            // An address an endpoint was pinned to meanwhile is no longer the guest's: NAK, and it DISCOVERs another.
            bool own = guest is not null && guest.Address == wanted && _range is { } range && range.Contains(wanted)
                && !IsQuarantined(wanted.Value, now) && !_reserved(wanted);
            // A client we have no record of (its lease was offered by us before a restart that lost it,
            // or it moved from another gateway) may keep a free address of the range: INIT-REBOOT.
            if (!own && !IsFree(wanted, now)) return false;
            // Renewals without option 12 keep the name they had.
            var name = hostName is null && own ? guest!.HostName : NameFor(mac, hostName, now, count: true);
            Assign(mac, guest, wanted, name, LeaseState.Bound, expires, now);
            Changed?.Invoke(_byMac[mac].ToLease());
            return true;
        }
    }

    /// <summary>DHCPRELEASE: the address stays the client's until another needs it, but no longer passes the guard.</summary>
    public void Release(MacAddress mac, Ipv4Address address)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_byMac.TryGetValue(mac, out var guest) || guest.Address != address) return;
            guest.Set(address, guest.HostName, LeaseState.Released, now);
            Changed?.Invoke(guest.ToLease());
        }
    }

    /// <summary>DHCPDECLINE: the address is in use on the wire; nobody gets it for an hour, and the
    /// client's next DISCOVER is offered another.</summary>
    public void Decline(MacAddress mac, Ipv4Address address)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_byMac.TryGetValue(mac, out var guest) || guest.Address != address) return;
            _quarantine[address.Value] = now + QuarantineTime;
            Forget(guest);
        }
    }

    /// <summary>Takes back the stored leases at start (expired ones too: their MACs get their address back first).</summary>
    public void Restore(IEnumerable<RemoteLease> leases)
    {
        lock (_lock)
        {
            foreach (var l in leases)
            {
                if (_range is not { } range || !range.Contains(l.Address) || _byAddress.ContainsKey(l.Address.Value) || _byMac.ContainsKey(l.Mac)) continue;
                var guest = new RemoteGuest(l.Mac);
                guest.Set(l.Address, l.HostName, l.State, l.Expires);
                _byMac[l.Mac] = guest;
                _byAddress[l.Address.Value] = guest;
            }
        }
    }

    /// <summary>The bound guest named <paramref name="host"/> (DNS, case-insensitive).</summary>
    public bool TryGetAddress(string host, out RemoteGuest guest)
    {
        long now = _time.GetUtcNow().UtcTicks;
        foreach (var g in _byMac.Values)
            if (g.IsBound(now) && string.Equals(g.HostName, host, StringComparison.OrdinalIgnoreCase)) { guest = g; return true; }
        guest = null!;
        return false;
    }

    /// <summary>The bound, named guest at <paramref name="address"/> (PTR).</summary>
    public bool TryGetName(Ipv4Address address, out string host)
    {
        long now = _time.GetUtcNow().UtcTicks;
        foreach (var g in _byMac.Values)
            if (g.IsBound(now) && g.Address == address && g.HostName is { } name) { host = name; return true; }
        host = "";
        return false;
    }

    private bool TryChoose(RemoteGuest? guest, Ipv4Address? requested, DateTimeOffset now, out Ipv4Address address)
    {
        address = default;
        if (_range is not { } range) return false;
        if (guest is not null && range.Contains(guest.Address) && !IsQuarantined(guest.Address.Value, now) && !_reserved(guest.Address)) { address = guest.Address; return true; }
        if (requested is { } r && IsFree(r, now)) { address = r; return true; }
        RemoteGuest? oldest = null;
        for (uint a = range.First.Value; a <= range.Last.Value && a != 0; a++)
        {
            var candidate = new Ipv4Address(a);
            if (IsQuarantined(a, now) || _reserved(candidate)) continue;
            if (!_byAddress.TryGetValue(a, out var holder)) { address = candidate; return true; }
            if (!holder.Holds(now.UtcTicks) && (oldest is null || holder.Expires < oldest.Expires)) oldest = holder;
        }
        address = oldest?.Address ?? default;
        return oldest is not null;
    }

    /// <summary>In the range, not quarantined or reserved, and held by nobody (an expired or released record gives way).</summary>
    private bool IsFree(Ipv4Address a, DateTimeOffset now) =>
        _range is { } range && range.Contains(a) && !IsQuarantined(a.Value, now) && !_reserved(a)
        && (!_byAddress.TryGetValue(a.Value, out var holder) || !holder.Holds(now.UtcTicks));

    private bool IsQuarantined(uint a, DateTimeOffset now)
    {
        if (!_quarantine.TryGetValue(a, out var until)) return false;
        if (until > now) return true;
        _quarantine.Remove(a);
        return false;
    }

    /// <summary>Gives <paramref name="address"/> to <paramref name="mac"/>: a record that held it gives
    /// it up (and is forgotten), and the client's record moves off its old address.</summary>
    private void Assign(MacAddress mac, RemoteGuest? guest, Ipv4Address address, string? name, LeaseState state, DateTimeOffset expires, DateTimeOffset now)
    {
        if (_byAddress.TryGetValue(address.Value, out var holder) && holder != guest) Forget(holder);
        if (guest is null)
        {
            guest = new RemoteGuest(mac);
            _byMac[mac] = guest;
        }
        else if (guest.Address != address && _byAddress.Remove(guest.Address.Value))
            AddressRetired?.Invoke(guest.Address);
        guest.Set(address, name, state, expires);
        _byAddress[address.Value] = guest;
    }

    private void Forget(RemoteGuest guest)
    {
        _byMac.TryRemove(new(guest.Mac, guest));
        if (_byAddress.TryGetValue(guest.Address.Value, out var g) && g == guest) _byAddress.Remove(guest.Address.Value);
        AddressRetired?.Invoke(guest.Address);
        Changed?.Invoke(guest.ToLease() with { State = LeaseState.Declined });
    }

    /// <summary>The client's label unless the network or another guest holding an address has it;
    /// a refusal is counted once per binding (<paramref name="count"/>), not per offer too.</summary>
    private string? NameFor(MacAddress mac, string? label, DateTimeOffset now, bool count)
    {
        if (label is null) return null;
        bool taken = _nameTaken(label);
        if (!taken)
            foreach (var g in _byMac.Values)
                if (g.Mac != mac && g.Holds(now.UtcTicks) && string.Equals(g.HostName, label, StringComparison.OrdinalIgnoreCase)) { taken = true; break; }
        if (!taken) return label;
        if (count) Interlocked.Increment(ref _namesRefused);
        return null;
    }
}
