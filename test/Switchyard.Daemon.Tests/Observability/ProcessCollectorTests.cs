using System.Text;
using Switchyard.Daemon.Observability;

namespace Switchyard.Daemon.Tests.Observability;

/// <summary>Process metrics from a /proc/self the test writes (Linux's layout, proc(5)), and without one (macOS).</summary>
public sealed class ProcessCollectorTests : IDisposable
{
    private readonly string _proc = Directory.CreateTempSubdirectory("yard-proc-").FullName;

    public void Dispose() => Directory.Delete(_proc, recursive: true);

    private static string Collect(ProcessCollector c)
    {
        var sb = new StringBuilder();
        c.Collect(new PrometheusWriter(sb), null!);
        return sb.ToString();
    }

    [Fact]
    public void Rss_and_descriptors_come_from_proc_self()
    {
        File.WriteAllText(Path.Combine(_proc, "statm"), "12000 3000 500 10 0 900 0\n");
        File.WriteAllText(Path.Combine(_proc, "limits"), """
            Limit                     Soft Limit           Hard Limit           Units
            Max processes             62912                62912                processes
            Max open files            1024                 524288               files
            """);
        Directory.CreateDirectory(Path.Combine(_proc, "fd"));
        for (int i = 0; i < 5; i++) File.WriteAllText(Path.Combine(_proc, "fd", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), "");

        var text = Collect(new ProcessCollector(_proc));
        Assert.Contains($"process_resident_memory_bytes {3000L * Environment.SystemPageSize}\n", text);
        Assert.Contains("process_open_fds 5\n", text);
        Assert.Contains("process_max_fds 1024\n", text);
    }

    [Fact]
    public void Without_proc_those_families_are_left_out_and_the_rest_is_there()
    {
        var text = Collect(new ProcessCollector(Path.Combine(_proc, "absent")));
        Assert.DoesNotContain("process_resident_memory_bytes", text);
        Assert.DoesNotContain("process_open_fds", text);
        Assert.DoesNotContain("process_max_fds", text);
        Assert.Contains("# TYPE process_cpu_seconds_total counter\n", text);
        Assert.Contains("# TYPE process_start_time_seconds gauge\n", text);
        Assert.Contains("dotnet_gc_collections_total{generation=\"0\"} ", text);
        Assert.Contains($"dotnet_gc_collections_total{{generation=\"{GC.MaxGeneration}\"}} ", text);
        Assert.Contains("dotnet_gc_heap_size_bytes ", text);
    }

    [Fact]
    public void Unlimited_descriptors_are_left_out()
    {
        File.WriteAllText(Path.Combine(_proc, "limits"), "Max open files            unlimited            unlimited            files\n");
        Assert.Null(new ProcessCollector(_proc).MaxFds());
    }

    [Fact]
    public void The_start_time_is_this_process_s_in_unix_seconds()
    {
        var text = Collect(new ProcessCollector(_proc));
        var line = text.Split('\n').Single(l => l.StartsWith("process_start_time_seconds ", StringComparison.Ordinal));
        double start = double.Parse(line["process_start_time_seconds ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Assert.InRange(start, now - 24 * 3600, now);
    }

    [Fact]
    public void The_real_proc_self_gives_plausible_numbers()   // the suite runs on Linux
    {
        var c = new ProcessCollector();
        Assert.InRange(c.ResidentBytes()!.Value, 1L << 20, 1L << 40);
        Assert.InRange(c.OpenFds()!.Value, 3, 1 << 20);
        Assert.NotNull(c.MaxFds());
    }
}
