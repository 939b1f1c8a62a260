using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Dns;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.DnsTestMessages;

namespace Switchyard.Network.Tests.Dns;

public sealed class DnsCountersTests : IDisposable
{
    private static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.88.0.0/24");
    private readonly FakeNames _names = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly UdpDnsResponder _upstream = new();
    private readonly DnsForwarder _forwarder;

    public DnsCountersTests()
    {
        _names.Hosts["alpha"] = Ipv4Address.Parse("10.88.0.10");
        _forwarder = new DnsForwarder(() => [_upstream.EndPoint], new DnsCache(_time), NullLogger.Instance, TimeSpan.FromSeconds(2), _time);
    }

    public void Dispose()
    {
        _forwarder.Dispose();
        _upstream.Dispose();
    }

    private static async Task<DnsResponseCode> Ask(DnsServer server, string name)
    {
        var response = new byte[4096];
        int n = await server.ResolveAsync(Query(name, DnsType.A), response);
        Assert.True(n > 0);
        return Parse(response.AsSpan(0, n)).Header.ResponseCode;
    }

    [Fact]
    public async Task Answers_are_counted_by_source_and_the_rcode_sent()
    {
        var server = new DnsServer("test.internal", Subnet, _names, _forwarder);
        Assert.Equal(DnsResponseCode.NoError, await Ask(server, "alpha.test.internal"));
        Assert.Equal(DnsResponseCode.NXDomain, await Ask(server, "nobody.test.internal"));
        Assert.Equal(DnsResponseCode.NoError, await Ask(server, "example.com"));     // upstream
        Assert.Equal(DnsResponseCode.NoError, await Ask(server, "example.com"));     // cache
        _upstream.ResponseCode = DnsResponseCode.NXDomain;
        Assert.Equal(DnsResponseCode.NXDomain, await Ask(server, "gone.example"));   // upstream's NXDOMAIN

        var c = server.Counters;
        Assert.Equal(1, c.Answers(DnsAnswerSource.Local, DnsResponseCode.NoError));
        Assert.Equal(1, c.Answers(DnsAnswerSource.Local, DnsResponseCode.NXDomain));
        Assert.Equal(1, c.Answers(DnsAnswerSource.Forwarded, DnsResponseCode.NoError));
        Assert.Equal(1, c.Answers(DnsAnswerSource.Cache, DnsResponseCode.NoError));
        Assert.Equal(1, c.Answers(DnsAnswerSource.Forwarded, DnsResponseCode.NXDomain));
        Assert.Equal(0, c.Answers(DnsAnswerSource.Cache, DnsResponseCode.NXDomain));
        Assert.Equal(2, _upstream.Queries);
    }

    [Fact]
    public async Task Refused_and_servfail_are_counted_as_local()
    {
        var internalNet = new DnsServer("test.internal", Subnet, _names, forwarder: null);
        Assert.Equal(DnsResponseCode.Refused, await Ask(internalNet, "example.com"));
        Assert.Equal(1, internalNet.Counters.Answers(DnsAnswerSource.Local, DnsResponseCode.Refused));

        using var dead = new DnsForwarder(() => [UdpDnsResponder.ClosedPort()], new DnsCache(_time), NullLogger.Instance, TimeSpan.FromSeconds(2));
        var broken = new DnsServer("test.internal", Subnet, _names, dead);
        Assert.Equal(DnsResponseCode.ServFail, await Ask(broken, "example.com"));
        Assert.Equal(1, broken.Counters.Answers(DnsAnswerSource.Local, DnsResponseCode.ServFail));
        Assert.Equal(0, broken.Counters.Answers(DnsAnswerSource.Forwarded, DnsResponseCode.ServFail));
    }

    [Fact]
    public async Task Forwarder_latency_is_the_upstream_round_trip_on_its_clock()
    {
        var release = new TaskCompletionSource();
        _upstream.HoldAnswers = release.Task;
        var response = new byte[4096];
        var pending = _forwarder.ForwardAsync(Query("example.com", DnsType.A), response, new DnsQuestion("example.com", DnsType.A, DnsClass.IN), false).AsTask();
        for (int i = 0; i < 200 && _upstream.Queries == 0; i++) await Task.Delay(10);   // real socket I/O: wait for the query to arrive
        Assert.Equal(1, _upstream.Queries);
        _time.Advance(TimeSpan.FromMilliseconds(30));
        release.SetResult();
        Assert.True(await pending > 0);

        var latency = _forwarder.Latency;
        Assert.Equal(1, latency.Count);
        Assert.Equal(0.03, latency.SumSeconds, 6);
        int le25ms = latency.UpperBoundsSeconds.ToList().IndexOf(0.025), le50ms = latency.UpperBoundsSeconds.ToList().IndexOf(0.05);
        Assert.Equal(0, latency.CumulativeCount(le25ms));
        Assert.Equal(1, latency.CumulativeCount(le50ms));

        // A cache hit is no round trip.
        Assert.True(await _forwarder.ForwardAsync(Query("example.com", DnsType.A), response, new DnsQuestion("example.com", DnsType.A, DnsClass.IN), false) > 0);
        Assert.Equal(1, latency.Count);
    }
}
