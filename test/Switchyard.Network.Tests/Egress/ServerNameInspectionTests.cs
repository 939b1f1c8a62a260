using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Daemon.Planning;
using Switchyard.Network.Egress;
using Switchyard.Packets;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Tests.Egress;

/// <summary>The inspection a NAT flow runs over its held bytes (issue 16, finding 7): every HTTP request head is
/// checked, bytes are released only up to a checked head's end or through a body, and a refusal is audited.</summary>
public sealed class ServerNameInspectionTests
{
    private static readonly MacAddress Guest = MacAddress.Parse("02:aa:00:00:00:0a");
    private static readonly IPEndPoint Destination = new(IPAddress.Parse("198.51.100.10"), 80);
    private readonly List<EgressDecision> _log = [];
    private readonly EgressGuard _guard;

    public ServerNameInspectionTests()
    {
        var guest = new GuestEgress("agent");
        var time = new FakeTimeProvider();
        _guard = new EgressGuard("net", mac => mac == Guest ? guest : null, new ListAudit(_log), time)
        {
            Policy = RuleSpecs.CreatePolicy("deny", ["allowed.example", "other.example"], []),
        };
        // Both allowed names resolve to the destination for this guest; blocked.example is never resolved.
        _guard.Remember(Guest, "allowed.example", Answer("allowed.example"));
        _guard.Remember(Guest, "other.example", Answer("other.example"));
    }

    private sealed class ListAudit(List<EgressDecision> log) : IEgressAudit
    {
        public void Record(EgressDecision decision) => log.Add(decision);
    }

    private static byte[] Answer(string name)
    {
        var buffer = new byte[512];
        var w = new DnsMessageWriter(buffer);
        w.WriteHeader(new DnsHeader(1, 0x8180, 1, 0, 0, 0));
        w.TryWriteQuestion(new DnsQuestion(name, DnsType.A, DnsClass.IN));
        w.TryWriteA(name, 300, Ipv4Address.Parse("198.51.100.10"));
        return buffer.AsSpan(0, w.Finish()).ToArray();
    }

    /// <summary>Feeds <paramref name="stream"/> as the flow does, cut at <paramref name="cuts"/>: held bytes start at
    /// the first unreleased one. Returns the bytes released and the last outcome.</summary>
    private (string Released, ServerNameInspection.Outcome Outcome) Feed(string stream, params int[] cuts)
    {
        var inspection = new ServerNameInspection(_guard, Destination);
        byte[] bytes = Encoding.ASCII.GetBytes(stream);
        int released = 0;
        var outcome = ServerNameInspection.Outcome.Pending;
        foreach (int end in cuts.Append(bytes.Length))
        {
            while (true)
            {
                outcome = inspection.Examine(Guest, bytes.AsSpan(released, end - released), now: 1, out int release);
                if (outcome == ServerNameInspection.Outcome.Allowed) return (stream, outcome);
                if (outcome == ServerNameInspection.Outcome.Denied) return (stream[..(released + release)], outcome);
                released += release;
                if (release == 0 || released == end) break;
            }
        }
        return (stream[..released], outcome);
    }

    private const string First = "GET /a HTTP/1.1\r\nHost: allowed.example\r\n\r\n";
    private const string Post = "POST /b HTTP/1.1\r\nHost: Allowed.Example:80\r\nContent-Length: 5\r\n\r\nhello";
    private const string Other = "GET /c HTTP/1.1\r\nHost: other.example\r\n\r\n";
    private const string Blocked = "GET /d HTTP/1.1\r\nHost: blocked.example\r\n\r\n";

    [Fact]
    public void Every_request_is_checked_and_only_what_passed_is_released()
    {
        string stream = First + Post + Other + Blocked;
        for (int cut = 0; cut <= stream.Length; cut++)
        {
            _log.Clear();
            var (released, outcome) = cut == 0 ? Feed(stream) : Feed(stream, cut);
            Assert.Equal(ServerNameInspection.Outcome.Denied, outcome);
            Assert.Equal(First + Post + Other, released);
            // One allow per distinct host (the same host again is not re-checked), then the deny.
            Assert.Equal(["allowed-host", "allowed-host", "host-mismatch"], _log.Select(d => d.Reason));
            Assert.Equal("blocked.example", _log[^1].Name);
        }
    }

    [Fact]
    public void A_stream_sent_one_byte_at_a_time_is_read_the_same()
    {
        string stream = First + Post + Blocked;
        var (released, outcome) = Feed(stream, [.. Enumerable.Range(1, stream.Length - 1)]);
        Assert.Equal(ServerNameInspection.Outcome.Denied, outcome);
        Assert.Equal(First + Post, released);
    }

    [Theory]
    [InlineData("GET http://allowed.example/ HTTP/1.1\r\nHost: blocked.example\r\n\r\n", "authority-mismatch", "allowed.example")]
    [InlineData("POST / HTTP/1.1\r\nHost: allowed.example\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "bad-framing", null)]
    [InlineData("POST / HTTP/1.1\r\nHost: allowed.example\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", "bad-framing", null, 70)]
    [InlineData("GET / HTTP/1.1\r\nHost: allowed.example\r\nX: a\r\n b\r\n\r\n", "malformed-request", null)]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "http2-cleartext", null)]
    [InlineData("\r\nGET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n", "host-mismatch", "blocked.example")]
    public void Refusals_are_audited_with_their_reason(string request, string reason, string? name, int releasedOfRequest = 0)
    {
        foreach (string stream in new[] { request, First + request })
        foreach (bool bytewise in new[] { false, true })
        {
            _log.Clear();
            var (released, outcome) = bytewise ? Feed(stream, [.. Enumerable.Range(1, stream.Length - 1)]) : Feed(stream);
            Assert.Equal(ServerNameInspection.Outcome.Denied, outcome);
            // Nothing of a refused head; a head checked before its body broke was released already (and, sent a byte
            // at a time, the chunk-size digits before the break: framing, no content).
            string expected = (stream == request ? "" : First) + request[..releasedOfRequest];
            Assert.StartsWith(expected, released);
            if (bytewise && releasedOfRequest > 0) Assert.Matches("^[0-9a-fA-F]*$", released[expected.Length..]);
            else Assert.Equal(expected, released);
            var deny = _log[^1];
            Assert.False(deny.Allowed);
            Assert.Equal(reason, deny.Reason);
            Assert.Equal(name, deny.Name);
            Assert.Equal(Destination, deny.Destination);
        }
    }

    [Fact]
    public void Tls_and_other_protocols_end_the_inspection()
    {
        Assert.Equal(ServerNameInspection.Outcome.Allowed, Feed("SSH-2.0-OpenSSH_9.6\r\n").Outcome);
        // A tunnel: after CONNECT to an allowed name the TLS inside is not read.
        var tunnel = Feed("CONNECT allowed.example:443 HTTP/1.1\r\nHost: allowed.example:443\r\n\r\n\u0016\u0003\u0001");
        Assert.Equal(ServerNameInspection.Outcome.Allowed, tunnel.Outcome);
        Assert.Equal(ServerNameInspection.Outcome.Denied, Feed("CONNECT blocked.example:443 HTTP/1.1\r\n\r\n").Outcome);
    }

    [Fact]
    public void A_partial_head_is_timed_from_its_own_first_byte()
    {
        var inspection = new ServerNameInspection(_guard, Destination);
        byte[] bytes = Encoding.ASCII.GetBytes(First + "GET / HT");
        Assert.Equal(ServerNameInspection.Outcome.Pending, inspection.Examine(Guest, bytes, now: 100, out int release));
        Assert.Equal(First.Length, release);
        Assert.Equal(100, inspection.FirstByteAt);
        Assert.Equal(ServerNameInspection.Outcome.Pending, inspection.Examine(Guest, bytes.AsSpan(release), now: 200, out release));
        Assert.Equal(0, release);
        Assert.Equal(100, inspection.FirstByteAt);
        Assert.Equal(ServerNameInspection.Outcome.Pending, inspection.Examine(Guest, Encoding.ASCII.GetBytes("hello")[..0], now: 300, out _));
        // A body in flight holds nothing: no deadline.
        var body = new ServerNameInspection(_guard, Destination);
        Assert.Equal(ServerNameInspection.Outcome.Pending, body.Examine(Guest, Encoding.ASCII.GetBytes(Post[..^2]), now: 100, out release));
        Assert.Equal(Post.Length - 2, release);
        Assert.Equal(0, body.FirstByteAt);
    }

    [Fact]
    public void Requests_for_the_host_already_allowed_allocate_nothing()
    {
        var inspection = new ServerNameInspection(_guard, Destination);
        byte[] request = Encoding.ASCII.GetBytes(First + Post);
        int released = 0;
        void Once()
        {
            if (inspection.Examine(Guest, request, now: 1, out int release) == ServerNameInspection.Outcome.Pending) released += release;
        }
        Once();   // the first checks the policy and is audited
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Once();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(101 * request.Length, released);
        Assert.Equal(0, allocated);
        Assert.Single(_log);
    }
}
