using Switchyard.Network.Egress;
using Switchyard.Network.Nat;
using Switchyard.Packets;

namespace Switchyard.Network.Dhcp;

/// <summary>A lease of the dynamic pool as the owner stores it (and gives back at restore).</summary>
public sealed record RemoteLease(MacAddress Mac, Ipv4Address Address, string? HostName, LeaseState State, DateTimeOffset Expires);

/// <summary>A client the gateway has no endpoint for (a guest behind a VXLAN tunnel): its lease from
/// the <see cref="DhcpPool"/>, and what the gateway's services keep per guest, as for an endpoint:
/// its egress state and its fair share of the NAT (one share per remote MAC, docs/multi-host.md).
/// Changed under the pool's lock; read lock-free on the data path (the tunnel guard, per frame).</summary>
public sealed class RemoteGuest
{
    private uint _address;
    private long _expiresTicks;
    private int _state;
    private volatile string? _hostName;

    internal RemoteGuest(MacAddress mac)
    {
        Mac = mac;
        var name = mac.ToString();
        Egress = new GuestEgress(name);
        Flows = new FlowShare(name);
    }

    public MacAddress Mac { get; }
    public Ipv4Address Address => new(Volatile.Read(ref _address));
    public string? HostName => _hostName;
    public LeaseState State => (LeaseState)Volatile.Read(ref _state);
    public DateTimeOffset Expires => new(Volatile.Read(ref _expiresTicks), TimeSpan.Zero);
    public GuestEgress Egress { get; }
    public FlowShare Flows { get; }

    /// <summary>Whether the guest may use its address at <paramref name="utcTicks"/>: acknowledged and not expired.</summary>
    public bool IsBound(long utcTicks) => State == LeaseState.Bound && utcTicks < Volatile.Read(ref _expiresTicks);

    /// <summary>Whether the address is held for this guest (offered or bound, not expired): nobody else gets it meanwhile.</summary>
    internal bool Holds(long utcTicks) => State is LeaseState.Offered or LeaseState.Bound && utcTicks < Volatile.Read(ref _expiresTicks);

    internal void Set(Ipv4Address address, string? hostName, LeaseState state, DateTimeOffset expires)
    {
        Volatile.Write(ref _address, address.Value);
        _hostName = hostName;
        Volatile.Write(ref _expiresTicks, expires.UtcTicks);
        Volatile.Write(ref _state, (int)state);
    }

    public RemoteLease ToLease() => new(Mac, Address, HostName, State, Expires);
}
