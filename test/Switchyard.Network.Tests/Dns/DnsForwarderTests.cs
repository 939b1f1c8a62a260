using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Dns;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.DnsTestMessages;

namespace Switchyard.Network.Tests.Dns;

public sealed class DnsForwarderTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly List<IDisposable> _disposables = [];

    public void Dispose()
    {
        foreach (var d in _disposables) d.Dispose();
    }

    private UdpDnsResponder Responder(bool silent = false)
    {
        var r = new UdpDnsResponder(silent);
        _disposables.Add(r);
        return r;
    }

    private DnsForwarder Forwarder(IPEndPoint[] upstreams, TimeSpan? attemptTimeout = null, DnsCache? cache = null)
    {
        var f = new DnsForwarder(() => upstreams, cache ?? new DnsCache(_time), NullLogger.Instance, attemptTimeout ?? TimeSpan.FromSeconds(2));
        _disposables.Add(f);
        return f;
    }

    private static async Task<(int Length, DnsReply? Reply)> Forward(DnsForwarder f, string name, ushort id)
    {
        var query = Query(name, DnsType.A, id);
        var response = new byte[4096];
        int n = await f.ForwardAsync(query, response, new DnsQuestion(name, DnsType.A, DnsClass.IN), dnssecOk: false);
        return (n, n > 0 ? Parse(response.AsSpan(0, n)) : null);
    }

    [Fact]
    public async Task ForwardedAnswer_CarriesClientIdAndIsCached()
    {
        var up = Responder();
        var f = Forwarder([up.EndPoint]);

        var (n, reply) = await Forward(f, "example.com", 0x1111);
        Assert.True(n > 0);
        Assert.Equal(0x1111, reply!.Header.Id);
        Assert.Equal(Ipv4Address.Parse("192.0.2.7"), Assert.Single(reply.Answers).Address);
        Assert.Equal(1, up.Queries);
        Assert.Equal(1, f.Forwarded);

        var (n2, reply2) = await Forward(f, "EXAMPLE.com", 0x2222);
        Assert.True(n2 > 0);
        Assert.Equal(0x2222, reply2!.Header.Id);
        Assert.Equal(Ipv4Address.Parse("192.0.2.7"), Assert.Single(reply2.Answers).Address);
        Assert.Equal(1, up.Queries); // from the cache
        Assert.Equal(1, f.Forwarded);
    }

    [Fact]
    public async Task CachedTtl_AgesAndExpires()
    {
        var up = Responder();
        up.Ttl = 300;
        var f = Forwarder([up.EndPoint]);
        await Forward(f, "example.com", 1);

        _time.Advance(TimeSpan.FromSeconds(100));
        var (_, aged) = await Forward(f, "example.com", 2);
        Assert.Equal(200u, Assert.Single(aged!.Answers).Ttl);
        Assert.Equal(1, up.Queries);

        _time.Advance(TimeSpan.FromSeconds(200));
        var (n, fresh) = await Forward(f, "example.com", 3);
        Assert.True(n > 0);
        Assert.Equal(2, up.Queries); // expired: asked again
        Assert.Equal(300u, Assert.Single(fresh!.Answers).Ttl);
    }

    [Fact]
    public async Task ServFail_IsNotCached()
    {
        var up = Responder();
        up.ResponseCode = DnsResponseCode.ServFail;
        var f = Forwarder([up.EndPoint]);
        var (n, reply) = await Forward(f, "broken.example", 7);
        Assert.True(n > 0);
        Assert.Equal(DnsResponseCode.ServFail, reply!.Header.ResponseCode);
        await Forward(f, "broken.example", 8);
        Assert.Equal(2, up.Queries);
        Assert.Equal(0, f.Cache.Count);
    }

    [Fact]
    public async Task ZeroTtl_IsNotCached()
    {
        var up = Responder();
        up.Ttl = 0;
        var f = Forwarder([up.EndPoint]);
        await Forward(f, "example.com", 1);
        await Forward(f, "example.com", 2);
        Assert.Equal(2, up.Queries);
    }

    /// <summary>A forwarder whose attempt timeouts run on the test's fake clock, which these tests
    /// never move: a query that completes did so without waiting out a timeout, however slow the
    /// machine (the real-time bound only turns a regression into a failure instead of a hang).</summary>
    private DnsForwarder ForwarderOnStoppedClock(IPEndPoint[] upstreams)
    {
        var f = new DnsForwarder(() => upstreams, new DnsCache(_time), NullLogger.Instance, TimeSpan.FromSeconds(5), _time);
        _disposables.Add(f);
        return f;
    }

    private static async Task<T> WithoutTimeout<T>(Task<T> task)
    {
        Assert.Same(task, await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))));
        return await task;
    }

    [Fact]
    public async Task RefusedUpstream_FailsFast()
    {
        var f = ForwarderOnStoppedClock([UdpDnsResponder.ClosedPort()]);
        var (n, _) = await WithoutTimeout(Forward(f, "example.com", 1));
        Assert.Equal(0, n);
        Assert.Equal(1, f.Failed);
    }

    [Fact]
    public async Task SilentUpstream_TimesOut()
    {
        var up = Responder(silent: true);
        var f = new DnsForwarder(() => [up.EndPoint], new DnsCache(_time), NullLogger.Instance, TimeSpan.FromMilliseconds(300), _time);
        _disposables.Add(f);
        var forwarding = Forward(f, "example.com", 1);
        var sw = Stopwatch.StartNew();
        while (up.Queries == 0)   // the real upstream's side: a generous bound
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "the query never reached the upstream");
            await Task.Delay(5);
        }
        Assert.False(forwarding.IsCompleted);
        // The attempt's timeout starts just after the send: move the clock until it has passed.
        while (!forwarding.IsCompleted && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            _time.Advance(TimeSpan.FromMilliseconds(310));
            await Task.WhenAny(forwarding, Task.Delay(10));
        }
        var (n, _) = await forwarding;
        Assert.Equal(0, n);
        Assert.Equal(1, up.Queries);
        Assert.Equal(1, f.Failed);
    }

    [Fact]
    public async Task FirstUpstreamRefused_SecondAnswers()
    {
        var up = Responder();
        var f = ForwarderOnStoppedClock([UdpDnsResponder.ClosedPort(), up.EndPoint]);
        var (n, reply) = await WithoutTimeout(Forward(f, "example.com", 0x3333));
        Assert.True(n > 0);
        Assert.Equal(0x3333, reply!.Header.Id);
        Assert.Equal(1, up.Queries);
    }

    [Fact]
    public async Task NoUpstreams_ReturnsZero()
    {
        var f = Forwarder([]);
        Assert.Equal(0, (await Forward(f, "example.com", 1)).Length);
    }

    [Fact]
    public async Task UpstreamsChanged_FlushesTheCacheAndClosesSocketsOfGoneUpstreams()
    {
        var old = Responder();
        var next = Responder();
        old.Address = Ipv4Address.Parse("192.0.2.1");
        next.Address = Ipv4Address.Parse("192.0.2.2");
        IPEndPoint[] list = [old.EndPoint];
        var f = new DnsForwarder(() => list, new DnsCache(_time), NullLogger.Instance, TimeSpan.FromSeconds(2));
        _disposables.Add(f);

        Assert.Equal(Ipv4Address.Parse("192.0.2.1"), Assert.Single((await Forward(f, "example.com", 1)).Reply!.Answers).Address);
        Assert.Equal(1, f.Cache.Count);
        Assert.Equal(1, f.OpenUpstreamSockets);

        list = [next.EndPoint];
        f.OnUpstreamsChanged();
        Assert.Equal(0, f.Cache.Count);
        Assert.Equal(0, f.OpenUpstreamSockets);

        // Not the cached answer of the old resolver: the new one is asked.
        Assert.Equal(Ipv4Address.Parse("192.0.2.2"), Assert.Single((await Forward(f, "example.com", 2)).Reply!.Answers).Address);
        Assert.Equal(1, old.Queries);
        Assert.Equal(1, next.Queries);
        Assert.Equal(1, f.OpenUpstreamSockets);
    }

    [Fact]
    public async Task UpstreamsChanged_KeepsTheSocketOfAnUpstreamStillListed()
    {
        var kept = Responder();
        IPEndPoint[] list = [kept.EndPoint];
        var f = new DnsForwarder(() => list, new DnsCache(_time), NullLogger.Instance, TimeSpan.FromSeconds(2));
        _disposables.Add(f);
        await Forward(f, "example.com", 1);
        list = [UdpDnsResponder.ClosedPort(), kept.EndPoint];
        f.OnUpstreamsChanged();
        Assert.Equal(1, f.OpenUpstreamSockets);
        Assert.True((await Forward(f, "example.com", 2)).Length > 0); // refused by the first, answered by the kept one
        Assert.Equal(2, kept.Queries);
    }

    [Fact]
    public async Task UpstreamsChanged_MovesAQueryWaitingOnAGoneUpstreamToTheNewOne()
    {
        var silent = Responder(silent: true);
        var next = Responder();
        IPEndPoint[] list = [silent.EndPoint];
        var f = new DnsForwarder(() => list, new DnsCache(_time), NullLogger.Instance, TimeSpan.FromSeconds(10), _time);
        _disposables.Add(f);

        var sw = Stopwatch.StartNew();
        var waiting = Forward(f, "example.com", 0x4444);
        while (silent.Queries == 0)   // the real upstream's side: a generous bound
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "the query never reached the first upstream");
            await Task.Delay(5);
        }
        list = [next.EndPoint];
        f.OnUpstreamsChanged();
        // The clock never moves: the old upstream's timeout cannot be what ended the wait.
        var (n, reply) = await WithoutTimeout(waiting);
        Assert.True(n > 0);
        Assert.Equal(0x4444, reply!.Header.Id);
        Assert.Equal(1, next.Queries);
        Assert.Equal(1, f.Cache.Count); // the new resolver's answer is cached
    }

    [Fact]
    public async Task ThroughDnsServer_ExternalNameIsForwarded_FailureIsServFail()
    {
        var up = Responder();
        var f = Forwarder([up.EndPoint]);
        var server = new DnsServer("test.internal", Ipv4Subnet.Parse("10.88.0.0/24"), new FakeNames(), f);
        var response = new byte[4096];
        int n = await server.ResolveAsync(Query("example.com", DnsType.A, 0x5555), response);
        var reply = Parse(response.AsSpan(0, n));
        Assert.Equal(0x5555, reply.Header.Id);
        Assert.Single(reply.Answers);

        var dead = Forwarder([UdpDnsResponder.ClosedPort()]);
        var server2 = new DnsServer("test.internal", Ipv4Subnet.Parse("10.88.0.0/24"), new FakeNames(), dead);
        n = await server2.ResolveAsync(Query("example.com", DnsType.A, 0x6666, edns: true), response);
        reply = Parse(response.AsSpan(0, n));
        Assert.Equal(DnsResponseCode.ServFail, reply.Header.ResponseCode);
        Assert.Equal(0x6666, reply.Header.Id);
        Assert.Equal(DnsType.OPT, Assert.Single(reply.Additional).Type);
    }
}

public class DnsCacheTests
{
    private static byte[] AnswerFor(string name, uint ttl, DnsResponseCode rcode = DnsResponseCode.NoError) =>
        rcode == DnsResponseCode.NoError
            ? Answer(Query(name, DnsType.A), rcode, ttl, Ipv4Address.Parse("192.0.2.1"))
            : Answer(Query(name, DnsType.A), rcode, ttl);

    private static string Key(string name) => DnsCache.Key(new DnsQuestion(name, DnsType.A, DnsClass.IN), false);

    [Fact]
    public void Capacity_IsBounded()
    {
        var time = new FakeTimeProvider();
        var cache = new DnsCache(time, capacity: 4);
        for (int i = 0; i < 50; i++)
        {
            cache.Store(Key($"h{i}.example"), AnswerFor($"h{i}.example", 60));
            Assert.InRange(cache.Count, 1, 4);
        }
        var buf = new byte[512];
        Assert.True(cache.TryGet(Key("h49.example"), 9, buf) > 0); // the newest survives
    }

    [Fact]
    public void Capacity_DropsExpiredFirst()
    {
        var time = new FakeTimeProvider();
        var cache = new DnsCache(time, capacity: 3);
        cache.Store(Key("short.example"), AnswerFor("short.example", 10));
        cache.Store(Key("long1.example"), AnswerFor("long1.example", 600));
        cache.Store(Key("long2.example"), AnswerFor("long2.example", 600));
        time.Advance(TimeSpan.FromSeconds(11));
        cache.Store(Key("new.example"), AnswerFor("new.example", 600));
        Assert.Equal(3, cache.Count);
        var buf = new byte[512];
        Assert.True(cache.TryGet(Key("long1.example"), 1, buf) > 0);
        Assert.Equal(0, cache.TryGet(Key("short.example"), 1, buf));
    }

    [Fact]
    public void MaxTtl_CapsLifetime()
    {
        var time = new FakeTimeProvider();
        var cache = new DnsCache(time, maxTtl: TimeSpan.FromSeconds(30));
        cache.Store(Key("a.example"), AnswerFor("a.example", 86400));
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(0, cache.TryGet(Key("a.example"), 1, new byte[512]));
    }

    [Theory]
    [InlineData(DnsResponseCode.ServFail, false)]
    [InlineData(DnsResponseCode.Refused, false)]
    [InlineData(DnsResponseCode.FormErr, false)]
    public void ErrorAnswers_AreNotStored(DnsResponseCode rcode, bool stored)
    {
        var cache = new DnsCache(new FakeTimeProvider());
        cache.Store(Key("x.example"), AnswerFor("x.example", 60, rcode));
        Assert.Equal(stored ? 1 : 0, cache.Count);
    }

    [Fact]
    public void NxDomainWithSoa_IsStored_ForSoaMinimum()
    {
        var time = new FakeTimeProvider();
        var cache = new DnsCache(time);
        var q = Query("missing.example", DnsType.A);
        var r = new DnsMessageReader(q);
        Assert.True(r.TryReadHeader(out var h));
        Assert.True(r.TryReadQuestion(out var question));
        var buf = new byte[512];
        var w = new DnsMessageWriter(buf);
        w.WriteHeader(DnsHeader.CreateResponse(h, DnsResponseCode.NXDomain));
        w.TryWriteQuestion(question);
        Assert.True(w.TryWriteSoa("example", 3600, "ns.example", "host.example", 1, 2, 3, 4, 20));
        var msg = buf[..w.Finish()];
        cache.Store(Key("missing.example"), msg);
        Assert.Equal(1, cache.Count);
        time.Advance(TimeSpan.FromSeconds(19));
        Assert.True(cache.TryGet(Key("missing.example"), 1, new byte[512]) > 0);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, cache.TryGet(Key("missing.example"), 1, new byte[512]));
    }

    [Fact]
    public void TruncatedAnswer_IsNotStored()
    {
        var cache = new DnsCache(new FakeTimeProvider());
        var msg = AnswerFor("t.example", 60);
        msg[2] |= 0x02; // TC
        cache.Store(Key("t.example"), msg);
        Assert.Equal(0, cache.Count);
    }
}
