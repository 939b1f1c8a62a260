using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Nat;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using static Switchyard.Network.Tests.Infrastructure.TestNetwork;

namespace Switchyard.Network.Tests.Nat;

/// <summary>The UDP table's cap under a flood from several guests at once (issue 16, finding 3):
/// four threads open new flows while a fifth moves the clock, so the table keeps filling with
/// flows old enough to evict and every opener races the others for the slot an eviction frees.
/// A sampler reads the count the whole time: it must never pass the cap.</summary>
public sealed class FlowCapConcurrencyTests : IDisposable
{
    private const int Cap = 16;
    private const int Guests = 4;
    private const int FlowsPerGuest = 400;
    private readonly FakeTimeProvider _time = new();
    private readonly VirtualNetwork _net;
    private readonly FakeTransport[] _guests = new FakeTransport[Guests];
    private readonly UdpEchoServer _server = new();

    public FlowCapConcurrencyTests()
    {
        _net = Create(NetworkMode.Nat, time: _time);
        for (int i = 0; i < Guests; i++)
            _guests[i] = Attach(_net, $"g{i}", Mac(i), Ip(i));
    }

    public void Dispose()
    {
        _net.Dispose();
        _server.Dispose();
    }

    private static MacAddress Mac(int i) => MacAddress.Parse($"02:cc:00:00:00:{i + 0x10:x2}");
    private static Ipv4Address Ip(int i) => Ipv4Address.Parse($"10.88.0.{i + 100}");

    [Fact]
    public void Udp_flows_never_exceed_the_cap_while_several_guests_flood_at_once()
    {
        var nat = _net.Nat!;
        nat.MaxUdpFlows = Cap;
        int max = 0;
        using var done = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            while (!done.IsCancellationRequested) max = Math.Max(max, nat.UdpFlowCount);
        });
        var clock = new Thread(() =>
        {
            while (!done.IsCancellationRequested)
            {
                _time.Advance(TimeSpan.FromSeconds(1.1));   // every flow so far is idle long enough to evict
                Thread.Sleep(1);
            }
        });
        var floods = Enumerable.Range(0, Guests).Select(g => new Thread(() =>
        {
            for (int p = 0; p < FlowsPerGuest; p++)
                _guests[g].Inject(Frames.Udp(GatewayMac, Mac(g), Ip(g), GatewayIp, (ushort)(20000 + p), _server.Port, [(byte)g]));
        })).ToArray();
        sampler.Start();
        clock.Start();
        foreach (var t in floods) t.Start();
        foreach (var t in floods) t.Join();
        done.Cancel();
        sampler.Join();
        clock.Join();

        Assert.True(max <= Cap, $"the UDP table held {max} flows against a cap of {Cap}");
        Assert.True(nat.UdpFlowCount <= Cap, $"{nat.UdpFlowCount} flows left against a cap of {Cap}");
        Assert.True(nat.SnapshotFlows(10_000).Count(f => f.Protocol == NatProtocol.Udp) <= Cap);
    }
}
