using System.Diagnostics;
using System.Globalization;

namespace Switchyard.Daemon.Observability;

/// <summary>
/// The daemon process, with the names Prometheus' own client libraries use (so existing dashboards
/// and alerts apply): CPU time, start time, and on Linux resident memory and file descriptors read
/// from /proc/self. Where there is no /proc (macOS) those three families are left out rather than
/// guessed. GC counts and heap size come from the runtime's GC APIs.
/// </summary>
internal sealed class ProcessCollector : IMetricsCollector
{
    private readonly string _proc;
    private readonly double _startTime;

    /// <param name="procSelf">Where the process's /proc directory is (a test points it at a copy).</param>
    public ProcessCollector(string procSelf = "/proc/self")
    {
        _proc = procSelf;
        using var self = Process.GetCurrentProcess();
        _startTime = new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
    }

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("process_cpu_seconds_total", MetricType.Counter, "Total user and system CPU time spent in seconds.");
        w.Sample(Environment.CpuUsage.TotalTime.TotalSeconds);
        w.Family("process_start_time_seconds", MetricType.Gauge, "Start time of the process since unix epoch in seconds.");
        w.Sample(_startTime);

        if (ResidentBytes() is { } rss)
        {
            w.Family("process_resident_memory_bytes", MetricType.Gauge, "Resident memory size in bytes.");
            w.Sample(rss);
        }
        if (OpenFds() is { } open)
        {
            w.Family("process_open_fds", MetricType.Gauge, "Number of open file descriptors.");
            w.Sample(open);
        }
        if (MaxFds() is { } max)
        {
            w.Family("process_max_fds", MetricType.Gauge, "Maximum number of open file descriptors (the soft limit).");
            w.Sample(max);
        }

        w.Family("dotnet_gc_collections_total", MetricType.Counter, "Garbage collections since the process started, by generation.");
        for (int g = 0; g <= GC.MaxGeneration; g++)
            w.Sample(GC.CollectionCount(g), new Label("generation", g.ToString(CultureInfo.InvariantCulture)));
        w.Family("dotnet_gc_heap_size_bytes", MetricType.Gauge, "Bytes the managed heap holds now (GC.GetTotalMemory).");
        w.Sample(GC.GetTotalMemory(forceFullCollection: false));
    }

    /// <summary>/proc/self/statm's second field is resident pages (proc(5)).</summary>
    internal long? ResidentBytes()
    {
        var text = TryRead("statm");
        if (text is null) return null;
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
            ? pages * Environment.SystemPageSize : null;
    }

    internal long? OpenFds()
    {
        try { return Directory.EnumerateFileSystemEntries(Path.Combine(_proc, "fd")).LongCount(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The soft limit from the "Max open files" line of /proc/self/limits; "unlimited" is left out.</summary>
    internal long? MaxFds()
    {
        var text = TryRead("limits");
        if (text is null) return null;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
        }
        return null;
    }

    private string? TryRead(string file)
    {
        try { return File.ReadAllText(Path.Combine(_proc, file)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
