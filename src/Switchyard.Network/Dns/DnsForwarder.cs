using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Telemetry;
using Switchyard.Packets.Dns;

namespace Switchyard.Network.Dns;

/// <summary>Forwards queries the network cannot answer itself to upstream resolvers over UDP, one
/// connected socket per upstream so that a resolver that is not running answers with ICMP port
/// unreachable, which the kernel reports as ECONNREFUSED: the query moves to the next upstream
/// at once instead of waiting out a timeout. Every query leaves with a fresh random id, and an
/// answer is accepted only for a pending id from the socket it was sent on. When the list of
/// upstreams changes (the host's resolv.conf was rewritten), the owner calls
/// <see cref="OnUpstreamsChanged"/>: no answer of the old list is served or cached after that.</summary>
public sealed class DnsForwarder : IDisposable
{
    private readonly Func<IReadOnlyList<IPEndPoint>> _upstreams;
    private readonly DnsCache _cache;
    private readonly ILogger _logger;
    private readonly TimeSpan _attemptTimeout;
    private readonly TimeProvider _time;
    // Lazy: two queries racing to the same new upstream must not both open a socket (one would leak).
    private readonly ConcurrentDictionary<IPEndPoint, Lazy<Upstream>> _sockets = new();
    private readonly ConcurrentDictionary<ushort, Pending> _pending = new();
    private volatile bool _disposed;
    // Bumped by OnUpstreamsChanged: a query that sees it move started on a list that is gone.
    private long _generation;

    /// <param name="attemptTimeout">How long one upstream has to answer before the next is asked.</param>
    /// <param name="time">The clock of the attempt timeouts (the cache has its own).</param>
    public DnsForwarder(Func<IReadOnlyList<IPEndPoint>> upstreams, DnsCache cache, ILogger logger, TimeSpan? attemptTimeout = null, TimeProvider? time = null)
    {
        _upstreams = upstreams;
        _cache = cache;
        _logger = logger;
        _attemptTimeout = attemptTimeout ?? TimeSpan.FromSeconds(1.5);
        _time = time ?? TimeProvider.System;
    }

    public DnsCache Cache => _cache;
    public long Forwarded => Volatile.Read(ref _forwarded);
    public long Failed => Volatile.Read(ref _failed);
    private long _forwarded, _failed;

    /// <summary>Answers <paramref name="query"/> from the cache or an upstream. Returns the
    /// response length in <paramref name="response"/>, or 0 when every upstream failed (the
    /// caller then answers SERVFAIL).</summary>
    public async ValueTask<int> ForwardAsync(ReadOnlyMemory<byte> query, Memory<byte> response, DnsQuestion question, bool dnssecOk) =>
        (await ForwardWithSourceAsync(query, response, question, dnssecOk).ConfigureAwait(false)).Length;

    /// <summary>Round trips of answered upstream queries: from the query leaving to its answer
    /// being taken (a TCP retry of a truncated answer included), on the forwarder's clock.</summary>
    public LatencyHistogram Latency { get; } = LatencyHistogram.ForDnsForwarding();

    /// <summary><see cref="ForwardAsync"/>, and whether the answer came from the cache.</summary>
    internal async ValueTask<(int Length, bool FromCache)> ForwardWithSourceAsync(ReadOnlyMemory<byte> query, Memory<byte> response, DnsQuestion question, bool dnssecOk)
    {
        ushort clientId = DnsMessage.ReadId(query.Span);
        string key = DnsCache.Key(question, dnssecOk);
        int cached = _cache.TryGet(key, clientId, response.Span);
        if (cached > 0) return (cached, true);

        // Bounded work in flight: a guest flooding random names at a slow upstream gets SERVFAIL,
        // not gigabytes of pending queries (and the id space never runs out).
        if (_pending.Count >= MaxInFlight) { Interlocked.Increment(ref _failed); return (0, false); }
        long generation = Volatile.Read(ref _generation);
        var upstreams = _upstreams();
        int restarts = 0;
        for (int i = 0; !_disposed; i++)
        {
            if (Volatile.Read(ref _generation) != generation)
            {
                // The upstreams changed while this query was out: ask the new ones from the first,
                // and neither serve nor cache what the old ones said.
                if (++restarts > MaxRestarts) break;
                generation = Volatile.Read(ref _generation);
                upstreams = _upstreams();
                i = -1;
                continue;
            }
            if (i >= upstreams.Count) break;
            Upstream up;
            try { up = _sockets.GetOrAdd(upstreams[i], ep => new Lazy<Upstream>(() => new Upstream(this, ep))).Value; }
            catch (SocketException e)
            {
                _sockets.TryRemove(upstreams[i], out _); // Lazy keeps the exception: try afresh next time (a route may appear)
                DnsLog.UpstreamFailed(_logger, upstreams[i], e.SocketErrorCode.ToString());
                continue;
            }
            if (Volatile.Read(ref _generation) != generation)
            {
                // Raced with a change: the socket just opened may be for an upstream that is gone.
                CloseSocketsNotIn(_upstreams());
                i--;
                continue;
            }

            var pending = new Pending(up, QuestionOf(query.Span));
            ushort id = 0;
            bool added = false;
            for (int attempt = 0; attempt < 16 && !added; attempt++)
                added = _pending.TryAdd(id = (ushort)Random.Shared.Next(0, 65536), pending);
            if (!added) break;
            byte[] outgoing = ArrayPool<byte>.Shared.Rent(query.Length);
            try
            {
                query.Span.CopyTo(outgoing);
                DnsMessage.WriteId(outgoing, id);
                Interlocked.Increment(ref _forwarded);
                long sentAt = _time.GetTimestamp();
                if (!up.TrySend(outgoing.AsSpan(0, query.Length))) continue;
                byte[]? answer;
                try { answer = await pending.Completion.Task.WaitAsync(_attemptTimeout, _time).ConfigureAwait(false); }
                catch (TimeoutException) { DnsLog.UpstreamFailed(_logger, up.EndPoint, "timeout"); continue; }
                if (answer is null || answer.Length > response.Length) continue; // refused by the upstream's host, or the upstream is gone
                if (Volatile.Read(ref _generation) != generation) { i--; continue; } // an answer of the old list: ask again
                // RFC 7766 §5: an answer truncated over UDP is asked again over TCP, so the guest
                // gets the whole answer whichever transport it used with us.
                if (IsTruncated(answer) && await QueryTcpAsync(up.EndPoint, outgoing.AsMemory(0, query.Length)).ConfigureAwait(false) is { } whole
                    && whole.Length <= response.Length)
                    answer = whole;
                if (Volatile.Read(ref _generation) != generation) { i--; continue; }
                Latency.Record(_time.GetElapsedTime(sentAt));
                answer.CopyTo(response);
                DnsMessage.WriteId(response.Span, clientId);
                _cache.Store(key, response.Span[..answer.Length]);
                return (answer.Length, false);
            }
            finally
            {
                _pending.TryRemove(id, out _);
                ArrayPool<byte>.Shared.Return(outgoing);
            }
        }
        Interlocked.Increment(ref _failed);
        return (0, false);
    }

    private static bool IsTruncated(ReadOnlySpan<byte> message) => message.Length >= 4 && (message[2] & 0x02) != 0;

    /// <summary>One query over TCP (RFC 1035 §4.2.2: each message after a two-byte length);
    /// null when the upstream does not answer within the attempt timeout.</summary>
    private async Task<byte[]?> QueryTcpAsync(IPEndPoint upstream, ReadOnlyMemory<byte> query)
    {
        using var cts = new CancellationTokenSource(_attemptTimeout, _time);
        using var socket = new Socket(upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(upstream, cts.Token).ConfigureAwait(false);
            var prefix = new byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)query.Length);
            await socket.SendAsync(prefix, SocketFlags.None, cts.Token).ConfigureAwait(false);
            await socket.SendAsync(query, SocketFlags.None, cts.Token).ConfigureAwait(false);
            await ReceiveExactly(socket, prefix, cts.Token).ConfigureAwait(false);
            var answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            await ReceiveExactly(socket, answer, cts.Token).ConfigureAwait(false);
            return answer;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or EndOfStreamException)
        {
            DnsLog.UpstreamFailed(_logger, upstream, $"TCP retry of a truncated answer: {e.Message}");
            return null;
        }
    }

    private static async Task ReceiveExactly(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0) throw new EndOfStreamException("the upstream closed the connection");
            buffer = buffer[n..];
        }
    }

    /// <summary>The upstream list changed (e.g. the host's resolv.conf was rewritten): forgets every
    /// cached answer (none of the old resolvers' answers is served again), closes the sockets of
    /// upstreams no longer listed and fails the queries waiting on them, which move to the new
    /// list at once. Queries in flight never cache an answer of the old list. Call it after the
    /// upstream source returns the new list.</summary>
    public void OnUpstreamsChanged()
    {
        Interlocked.Increment(ref _generation);
        CloseSocketsNotIn(_upstreams());
        _cache.Clear();
    }

    /// <summary>How many upstream sockets are open (one per upstream asked since the last change).</summary>
    public int OpenUpstreamSockets => _sockets.Count(kv => kv.Value.IsValueCreated);

    private void CloseSocketsNotIn(IReadOnlyList<IPEndPoint> keep)
    {
        foreach (var kv in _sockets)
        {
            if (keep.Contains(kv.Key) || !_sockets.TryRemove(kv)) continue;
            if (!kv.Value.IsValueCreated) continue;
            var gone = kv.Value.Value;
            gone.Dispose();
            foreach (var p in _pending.Values)
                if (p.Via == gone) p.Completion.TrySetResult(null);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var kv in _sockets)
            if (_sockets.TryRemove(kv) && kv.Value.IsValueCreated) kv.Value.Value.Dispose();
        _cache.Clear();
        foreach (var p in _pending.Values) p.Completion.TrySetResult(null);
    }

    private const int MaxInFlight = 1024;
    /// <summary>How often one query starts over because the upstreams changed under it.</summary>
    private const int MaxRestarts = 2;

    /// <summary>The question section as sent (header skipped), to check that an answer is for it.</summary>
    private static byte[] QuestionOf(ReadOnlySpan<byte> query)
    {
        var reader = new DnsMessageReader(query);
        if (!reader.TryReadHeader(out _) || !reader.TrySkipQuestion()) return [];
        return query[12..reader.Position].ToArray();
    }

    private sealed class Pending(Upstream via, byte[] question)
    {
        public Upstream Via { get; } = via;
        /// <summary>An answer must repeat the question byte for byte (RFC 5452 §9.1), 0x20 case included.</summary>
        public byte[] Question { get; } = question;
        public TaskCompletionSource<byte[]?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Upstream : IDisposable
    {
        private readonly DnsForwarder _owner;
        private readonly Socket _socket;

        public Upstream(DnsForwarder owner, IPEndPoint endPoint)
        {
            _owner = owner;
            EndPoint = endPoint;
            _socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            _socket.Connect(endPoint);
            _ = ReceiveLoop();
        }

        public IPEndPoint EndPoint { get; }

        public bool TrySend(ReadOnlySpan<byte> datagram)
        {
            try { _socket.Send(datagram); return true; }
            catch (SocketException e) { DnsLog.UpstreamFailed(_owner._logger, EndPoint, e.SocketErrorCode.ToString()); return false; }
            catch (ObjectDisposedException) { return false; }
        }

        private async Task ReceiveLoop()
        {
            var buffer = new byte[65535];
            while (true)
            {
                int n;
                try { n = await _socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false); }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    // ICMP port unreachable for something we sent: fail every query waiting on this upstream.
                    DnsLog.UpstreamFailed(_owner._logger, EndPoint, "connection refused");
                    foreach (var p in _owner._pending.Values)
                        if (p.Via == this) p.Completion.TrySetResult(null);
                    continue;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
                if (n < 12) continue;
                ushort id = DnsMessage.ReadId(buffer);
                if (_owner._pending.TryGetValue(id, out var pending) && pending.Via == this
                    && n >= 12 + pending.Question.Length && buffer.AsSpan(12, pending.Question.Length).SequenceEqual(pending.Question))
                    pending.Completion.TrySetResult(buffer.AsSpan(0, n).ToArray());
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}

internal static partial class DnsLog
{
    [LoggerMessage(EventId = LogEvents.UpstreamResolverFailed, Level = LogLevel.Warning, Message = "Upstream resolver {Upstream} failed: {Reason}")]
    public static partial void UpstreamFailed(ILogger logger, IPEndPoint upstream, string reason);
}
