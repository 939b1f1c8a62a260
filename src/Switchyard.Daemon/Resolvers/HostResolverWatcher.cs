using Switchyard.Network;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Switchyard.Daemon.Resolvers;

/// <summary>The host's resolvers as the resolver file (<c>--resolv-conf</c>, default
/// /etc/resolv.conf) lists them now. VPN clients and resolvconf rewrite that file, often by
/// renaming a new one over it, and /etc/resolv.conf is often a symlink (systemd-resolved,
/// resolvconf) that may be pointed elsewhere: so the watcher watches the <em>directories</em> of
/// the file and of every link on the way to its target, and also reads the file once a second in
/// case an event was missed (a directory that did not exist yet, an inotify limit, a bind mount).
/// A change is seen within a second. A missing, unreadable or empty file means no upstream: the
/// daemon still serves its guests (their own names; other queries get SERVFAIL at once).</summary>
public sealed class HostResolverWatcher : IDisposable
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);
    // Lets a writer finish (truncate, then write) before the file is read after an event.
    internal static readonly TimeSpan EventDelay = TimeSpan.FromMilliseconds(30);

    private readonly ILogger _logger;
    private readonly bool _useEvents;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly ITimer _poll;
    private readonly ITimer _afterEvent;
    private volatile HashSet<string> _watchedPaths = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<IPEndPoint> _current = [];
    private string? _text;
    private bool _disposed;
    private volatile bool _rewatch;

    /// <param name="path">The resolver file; it need not exist.</param>
    /// <param name="pollInterval">How often the file is read even without an event (default 1 s).</param>
    /// <param name="useEvents">False: the periodic read alone (tests of the fallback).</param>
    /// <param name="time">The clock of the periodic read and of the short wait after an event
    /// (default: the system's); tests move a fake one instead of sleeping.</param>
    public HostResolverWatcher(string path, ILogger logger, TimeSpan? pollInterval = null, bool useEvents = true, TimeProvider? time = null)
    {
        Path = System.IO.Path.GetFullPath(path);
        _logger = logger;
        _useEvents = useEvents;
        time ??= TimeProvider.System;
        _afterEvent = time.CreateTimer(_ => Check(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Check();
        var interval = pollInterval ?? DefaultPollInterval;
        _poll = time.CreateTimer(_ => Check(), null, interval, interval);
    }

    /// <summary>The resolver file, as a full path.</summary>
    public string Path { get; }

    /// <summary>The resolvers the file lists now (port 53 each); empty when there are none.</summary>
    public IReadOnlyList<IPEndPoint> Current => _current;

    /// <summary>Raised (on a timer thread, one change at a time, in order) after <see cref="Current"/>
    /// took a new list.</summary>
    public event Action<IReadOnlyList<IPEndPoint>>? Changed;

    /// <summary>Reads the file now and applies a change at once (also what events and the timer do).</summary>
    public void Check()
    {
        lock (_gate)
        {
            if (_disposed) return;
            try
            {
                if (_rewatch)
                {
                    _rewatch = false;
                    foreach (var w in _watchers.Values) w.Dispose();
                    _watchers.Clear();
                }
                if (_useEvents) Watch(LinkChain(Path));
                string text = HostResolvers.TryReadText(Path);
                bool first = _text is null;
                if (text == _text) return;
                _text = text;
                var list = HostResolvers.Parse(text);
                if (!first && list.SequenceEqual(_current)) return; // a comment or search line changed: nothing to do
                _current = list;
                string shown = list.Count == 0 ? "none (guests' own names are still answered; other queries get SERVFAIL)" : string.Join(", ", list);
                if (first)
                {
                    if (list.Count == 0) ResolverLog.NoResolvers(_logger, Path);
                    else ResolverLog.Resolvers(_logger, Path, shown);
                    return;
                }
                ResolverLog.ResolversChanged(_logger, Path, shown);
                RaiseChanged(list);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                ResolverLog.CheckFailed(_logger, Path, e.Message);
            }
        }
    }

    private void RaiseChanged(IReadOnlyList<IPEndPoint> list)
    {
        try { Changed?.Invoke(list); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ResolverLog.CheckFailed(_logger, Path, $"applying the new resolvers failed: {e.Message}");
        }
    }

    /// <summary>The file and every symlink on the way to its target (full paths, the file first).</summary>
    internal static List<string> LinkChain(string path)
    {
        var chain = new List<string> { path };
        for (int hop = 0; hop < 40; hop++) // SYMLOOP_MAX-like bound: a link loop ends here
        {
            string? target;
            try { target = new FileInfo(chain[^1]).LinkTarget; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { break; }
            if (target is null) break;
            var next = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(chain[^1])!, target));
            if (chain.Contains(next)) break;
            chain.Add(next);
        }
        return chain;
    }

    /// <summary>Keeps one watcher on the directory of each path of <paramref name="chain"/>, and
    /// none elsewhere. A directory that does not exist (yet) is watched for from its nearest
    /// existing ancestor, so its creation is an event too. Called under the gate.</summary>
    private void Watch(List<string> chain)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var dirs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in chain)
        {
            string watched = p;
            string? dir = System.IO.Path.GetDirectoryName(p);
            while (dir is not null && !Directory.Exists(dir))
            {
                watched = dir;
                dir = System.IO.Path.GetDirectoryName(dir);
            }
            if (dir is null) continue;
            paths.Add(watched);
            dirs.Add(dir);
        }
        _watchedPaths = paths;
        foreach (var (dir, w) in _watchers.ToList())
        {
            if (dirs.Contains(dir)) continue;
            w.Dispose();
            _watchers.Remove(dir);
        }
        foreach (var dir in dirs)
        {
            if (_watchers.ContainsKey(dir)) continue;
            var w = new FileSystemWatcher(dir)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.Attributes,
                IncludeSubdirectories = false,
            };
            w.Changed += OnEvent;
            w.Created += OnEvent;
            w.Deleted += OnEvent;
            w.Renamed += OnEvent;
            w.Error += OnError;
            try { w.EnableRaisingEvents = true; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // E.g. the inotify instance limit: the periodic read still sees every change.
                ResolverLog.CheckFailed(_logger, Path, $"cannot watch {dir} ({e.Message}); reading the file every second instead");
                w.Dispose();
                continue;
            }
            _watchers[dir] = w;
        }
    }

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        var watched = _watchedPaths;
        if (watched.Contains(e.FullPath) || (e is RenamedEventArgs r && watched.Contains(r.OldFullPath))) Soon();
    }

    /// <summary>Events were lost (queue overflow) or the directory went away: watch afresh and read.</summary>
    private void OnError(object sender, ErrorEventArgs e)
    {
        _rewatch = true;
        Soon();
    }

    private void Soon()
    {
        try { _afterEvent.Change(EventDelay, Timeout.InfiniteTimeSpan); }
        catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var w in _watchers.Values) w.Dispose();
            _watchers.Clear();
        }
        _poll.Dispose();
        _afterEvent.Dispose();
    }
}

internal static partial class ResolverLog
{
    [LoggerMessage(EventId = LogEvents.HostResolversRead, Level = LogLevel.Information, Message = "Host resolvers from {Path}: {Resolvers}")]
    public static partial void Resolvers(ILogger logger, string path, string resolvers);
    [LoggerMessage(EventId = LogEvents.HostResolversChanged, Level = LogLevel.Information, Message = "Host resolvers changed in {Path}: now {Resolvers}")]
    public static partial void ResolversChanged(ILogger logger, string path, string resolvers);
    [LoggerMessage(EventId = LogEvents.HostResolversNone, Level = LogLevel.Information, Message = "Host resolvers: {Path} is missing or lists no nameserver; guests' own names are still answered, other queries get SERVFAIL")]
    public static partial void NoResolvers(ILogger logger, string path);
    [LoggerMessage(EventId = LogEvents.HostResolversUnreadable, Level = LogLevel.Warning, Message = "Host resolvers from {Path}: {Reason}")]
    public static partial void CheckFailed(ILogger logger, string path, string reason);
}
