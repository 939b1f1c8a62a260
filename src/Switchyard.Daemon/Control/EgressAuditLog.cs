using Switchyard.Network;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Network.Egress;

namespace Switchyard.Daemon.Control;

/// <summary>
/// Every egress decision, as JSON lines in the state directory (<c>egress.log</c>, rotated at
/// <see cref="MaxFileBytes"/> into <c>egress.log.1</c> .. <c>.N</c>, so the log is bounded) and
/// to live subscribers (the API's server-sent events). The data plane hands decisions over
/// through a bounded queue and never waits: when the writer falls behind, decisions are dropped
/// and counted (<see cref="Dropped"/>), and the daemon's log says how many.
/// </summary>
internal sealed class EgressAuditLog : IEgressAudit, IDisposable
{
    public const long MaxFileBytes = 8 << 20;
    public const int KeptFiles = 3;
    private const int QueueCapacity = 16384;
    private const int SubscriberCapacity = 1024;

    private readonly Channel<EgressDecision> _queue = Channel.CreateBounded<EgressDecision>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly ConcurrentDictionary<Channel<EgressEvent>, string> _subscribers = new();
    private readonly ILogger _logger;
    private readonly Task _writer;
    private readonly Lock _fileLock = new();
    private FileStream _file;   // replaced by Rotate, under _fileLock
    private long _dropped;

    public EgressAuditLog(string path, ILogger logger)
    {
        Path = path;
        _logger = logger;
        _file = Open();
        _writer = Task.Run(WriteLoop);
    }

    public string Path { get; }
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Record(EgressDecision decision)
    {
        if (!_queue.Writer.TryWrite(decision)) Interlocked.Increment(ref _dropped);
    }

    /// <summary>Live events of one network until the returned subscription is disposed. A reader
    /// that falls behind loses events (the oldest first), never slows the writer.</summary>
    public (ChannelReader<EgressEvent> Events, IDisposable Subscription) Subscribe(string network)
    {
        var channel = Channel.CreateBounded<EgressEvent>(new BoundedChannelOptions(SubscriberCapacity) { FullMode = BoundedChannelFullMode.DropOldest });
        _subscribers[channel] = network;
        return (channel.Reader, new Unsubscriber(this, channel));
    }

    private sealed class Unsubscriber(EgressAuditLog log, Channel<EgressEvent> channel) : IDisposable
    {
        public void Dispose()
        {
            if (log._subscribers.TryRemove(channel, out _)) channel.Writer.TryComplete();
        }
    }

    /// <summary>The newest <paramref name="limit"/> decisions of a network, oldest first, from the
    /// current file and the rotated ones.</summary>
    public List<EgressEvent> Read(string network, int limit)
    {
        var newest = new Queue<EgressEvent>(limit);
        lock (_fileLock)
        {
            _file.Flush();
            for (int i = KeptFiles; i >= 0; i--)
            {
                string path = i == 0 ? Path : $"{Path}.{i}";
                if (!File.Exists(path)) continue;
                using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
                while (reader.ReadLine() is { } line)
                {
                    EgressEvent? e;
                    try { e = JsonSerializer.Deserialize(line, JsonLinesContext.Default.EgressEvent); }
                    catch (JsonException) { continue; }   // a line cut by a crash
                    if (e is null || e.Network != network) continue;
                    if (newest.Count == limit) newest.Dequeue();
                    newest.Enqueue(e);
                }
            }
        }
        return [.. newest];
    }

    private async Task WriteLoop()
    {
        var reader = _queue.Reader;
        var options = new JsonWriterOptions { SkipValidation = true };
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            lock (_fileLock)
            {
                using var json = new Utf8JsonWriter(_file, options);
                while (reader.TryRead(out var d))
                {
                    var e = ToEvent(d);
                    JsonSerializer.Serialize(json, e, JsonLinesContext.Default.EgressEvent);
                    json.Flush();
                    _file.WriteByte((byte)'\n');
                    json.Reset();
                    foreach (var (subscriber, network) in _subscribers)
                        if (network == e.Network) subscriber.Writer.TryWrite(e);
                }
                long dropped = Interlocked.Exchange(ref _dropped, 0);
                if (dropped > 0) EgressLog.DecisionsDropped(_logger, dropped);
                _file.Flush();
                if (_file.Length >= MaxFileBytes) Rotate();
            }
        }
    }

    private static EgressEvent ToEvent(EgressDecision d) => new()
    {
        Time = d.Time,
        Network = d.Network,
        Endpoint = d.Endpoint,
        Protocol = d.Protocol,
        Destination = d.Destination is not { } dst ? null
            : d.Protocol == "icmp" ? dst.Address.ToString()
            : dst.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{dst.Address}]:{dst.Port}" : $"{dst.Address}:{dst.Port}",
        Name = d.Name,
        Verdict = d.Allowed ? "allow" : "deny",
        Reason = d.Reason,
    };

    private FileStream Open()
    {
        var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return file;
    }

    /// <summary>egress.log becomes egress.log.1, .1 becomes .2, ...; the oldest is dropped.</summary>
    private void Rotate()
    {
        _file.Dispose();
        File.Delete($"{Path}.{KeptFiles}");
        for (int i = KeptFiles - 1; i >= 1; i--)
            if (File.Exists($"{Path}.{i}")) File.Move($"{Path}.{i}", $"{Path}.{i + 1}");
        File.Move(Path, $"{Path}.1");
        _file = Open();
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        try { _writer.Wait(TimeSpan.FromSeconds(2)); }
        catch (AggregateException) { }
        foreach (var subscriber in _subscribers.Keys) subscriber.Writer.TryComplete();
        lock (_fileLock) _file.Dispose();
    }
}

internal static partial class EgressLog
{
    [LoggerMessage(EventId = LogEvents.EgressAuditBehind, Level = LogLevel.Warning, Message = "The egress audit log fell behind: {Count} decision(s) were not recorded")]
    public static partial void DecisionsDropped(ILogger logger, long count);
}
