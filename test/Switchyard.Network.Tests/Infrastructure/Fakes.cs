using System.Net;
using Switchyard.Network.Dhcp;
using Switchyard.Network.Dns;
using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Infrastructure;

/// <summary>A switch port that records (copies of) every frame the switch transmits to it.</summary>
internal sealed class CapturePort(string name = "capture", bool accept = true) : SwitchPort(name)
{
    private readonly List<byte[]> _frames = [];
    private readonly object _lock = new();

    public bool Accept { get; set; } = accept;

    public IReadOnlyList<byte[]> Frames { get { lock (_lock) return [.. _frames]; } }

    public override bool Transmit(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        lock (_lock) _frames.Add(frame.ToArray());
        return Accept;
    }

    public void Clear() { lock (_lock) _frames.Clear(); }
}

/// <summary>A transport a test drives by hand: <see cref="Inject"/> runs the switch's handler
/// synchronously; <see cref="TrySend"/> records what the switch delivered.</summary>
internal sealed class FakeTransport : IFrameTransport
{
    private readonly List<byte[]> _sent = [];
    private readonly object _lock = new();
    private FrameHandler? _handler;

    public string Kind => "fake";
    public bool SupportsOffload { get; set; }
    public bool Accept { get; set; } = true;
    public bool Disposed { get; private set; }

    public IReadOnlyList<byte[]> Sent { get { lock (_lock) return [.. _sent]; } }

    public void Start(FrameHandler onFrame) => _handler = onFrame;

    public void Inject(ReadOnlySpan<byte> frame) => Inject(frame, VirtioNetHeader.None);

    public void Inject(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        var handler = _handler ?? throw new InvalidOperationException("transport not started");
        handler(frame, offload);
    }

    /// <summary>The offload metadata of each sent frame, in order.</summary>
    public List<VirtioNetHeader> SentOffloads { get; } = [];

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        lock (_lock)
        {
            _sent.Add(frame.ToArray());
            SentOffloads.Add(offload);
            Monitor.PulseAll(_lock);
        }
        return Accept;
    }

    public void Clear() { lock (_lock) _sent.Clear(); }

    /// <summary>Waits (real time) until a sent frame matches, and returns it, or null on timeout.</summary>
    public byte[]? WaitFor(Func<byte[], bool> match, TimeSpan timeout, int skip = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (true)
            {
                var found = _sent.Skip(skip).FirstOrDefault(match);
                if (found is not null) return found;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return null;
                Monitor.Wait(_lock, left);
            }
        }
    }

    public void Dispose() => Disposed = true;
}

internal sealed class FakeNames : ILocalNames
{
    public Dictionary<string, Ipv4Address> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);

    public bool TryGetAddress(string host, out Ipv4Address address) => Hosts.TryGetValue(host, out address);

    public bool TryGetName(Ipv4Address address, out string host)
    {
        foreach (var kv in Hosts)
            if (kv.Value == address) { host = kv.Key; return true; }
        host = "";
        return false;
    }
}

internal sealed class FakeBindings : IDhcpBindings
{
    public Dictionary<MacAddress, DhcpBinding> Bindings { get; } = [];
    public List<(MacAddress Client, Ipv4Address Address, LeaseState State, DateTimeOffset Expires)> LeaseChanges { get; } = [];
    public List<(MacAddress Client, Ipv4Address Declined)> Reassigns { get; } = [];
    public Ipv4Address? NextAddress { get; set; }

    public bool TryGetBinding(MacAddress client, out DhcpBinding binding) => Bindings.TryGetValue(client, out binding);

    public bool TryReassign(MacAddress client, Ipv4Address declined, out Ipv4Address replacement)
    {
        Reassigns.Add((client, declined));
        replacement = default;
        if (NextAddress is not { } next || !Bindings.TryGetValue(client, out var b)) return false;
        Bindings[client] = b with { Address = next };
        replacement = next;
        return true;
    }

    public void OnLeaseChanged(MacAddress client, Ipv4Address address, LeaseState state, DateTimeOffset expires) =>
        LeaseChanges.Add((client, address, state, expires));
}

internal sealed class FakeEvents : INetworkEvents
{
    public List<(string Endpoint, Ipv4Address Address, LeaseState State)> Leases { get; } = [];
    /// <summary>What the owner does when a guest declines (e.g. reassign it); nothing when null.</summary>
    public Action<string, Ipv4Address>? Declined { get; set; }

    public void OnLeaseChanged(string network, string endpoint, Ipv4Address address, LeaseState state, DateTimeOffset expires)
    {
        lock (Leases) Leases.Add((endpoint, address, state));
    }

    public void OnAddressDeclined(string network, string endpoint, Ipv4Address declined) => Declined?.Invoke(endpoint, declined);

    public List<(string Endpoint, MacAddress Mac)> LearnedMacs { get; } = [];

    public void OnMacLearned(string network, string endpoint, MacAddress mac)
    {
        lock (LearnedMacs) LearnedMacs.Add((endpoint, mac));
    }

    public List<RemoteLease> RemoteLeases { get; } = [];

    public void OnRemoteLeaseChanged(string network, RemoteLease lease)
    {
        lock (RemoteLeases) RemoteLeases.Add(lease);
    }
}

/// <summary>Builds a <see cref="VirtualNetwork"/> with FakeTransport endpoints.</summary>
internal static class TestNetwork
{
    public static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.88.0.0/24");
    public static readonly Ipv4Address GatewayIp = Subnet.FirstHost;
    public static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress MacA = MacAddress.Parse("02:aa:00:00:00:0a");
    public static readonly MacAddress MacB = MacAddress.Parse("02:bb:00:00:00:0b");
    public static readonly Ipv4Address IpA = Ipv4Address.Parse("10.88.0.10");
    public static readonly Ipv4Address IpB = Ipv4Address.Parse("10.88.0.11");
    public const string Domain = "test.internal";

    /// <param name="time">The network's clock: a <c>FakeTimeProvider</c> for tests of idle timers,
    /// which then move time instead of sleeping against it.</param>
    public static VirtualNetwork Create(NetworkMode mode = NetworkMode.Internal, int mtu = 1500, Func<IReadOnlyList<IPEndPoint>>? upstreams = null, FakeEvents? events = null,
        TimeProvider? time = null) =>
        new(new NetworkConfig("testnet", mode, Subnet, mtu, Domain, GatewayMac, upstreams ?? (() => []), TimeSpan.FromHours(1)),
            events ?? new FakeEvents(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, time: time);

    public static FakeTransport Attach(VirtualNetwork net, string name, MacAddress mac, Ipv4Address ip)
    {
        var t = new FakeTransport();
        net.Attach(new EndpointConfig(name, mac, ip), t);
        return t;
    }
}
