using System.Globalization;
using System.Text;

namespace Switchyard.Daemon.Observability;

/// <summary>The kinds of metric family the daemon exposes (the <c># TYPE</c> line).</summary>
internal enum MetricType { Counter, Gauge, Histogram }

/// <summary>One label of a sample: its name (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>) and any value.</summary>
internal readonly record struct Label(string Name, string Value);

/// <summary>A histogram as read at scrape time: the finite upper bounds (ascending), the cumulative
/// count of each (as the Prometheus format wants them), the total count and the sum.</summary>
internal readonly record struct HistogramValue(IReadOnlyList<double> UpperBounds, IReadOnlyList<long> CumulativeCounts, long Count, double Sum);

/// <summary>
/// Writes the Prometheus text exposition format, version 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/): per family a <c># HELP</c> and a
/// <c># TYPE</c> line, then its samples. The format requires each family to appear once with all its
/// samples together, so <see cref="Family"/> starts one and refuses a name it has written already, and
/// samples always belong to the family begun last. Names are checked here (a bad name would make the
/// whole scrape fail in Prometheus, far from its cause); numbers are written in the invariant culture.
/// Used at scrape time only: nothing here is on a packet path.
/// </summary>
internal sealed class PrometheusWriter(StringBuilder output)
{
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);
    private string? _family;
    private MetricType _type;

    /// <summary>The content type of the output (the <c>Content-Type</c> a scraper expects).</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Starts a family: its <c># HELP</c> and <c># TYPE</c> lines. A counter's name ends in
    /// <c>_total</c> (the OpenMetrics convention promtool's linter holds 0.0.4 output to).</summary>
    public void Family(string name, MetricType type, string help)
    {
        if (!IsMetricName(name)) throw new ArgumentException($"'{name}' is not a valid metric name", nameof(name));
        if (type == MetricType.Counter && !name.EndsWith("_total", StringComparison.Ordinal))
            throw new ArgumentException($"counter '{name}' must end in _total", nameof(name));
        if (type != MetricType.Counter && name.EndsWith("_total", StringComparison.Ordinal))
            throw new ArgumentException($"only counters end in _total: '{name}' is a {type}", nameof(name));
        if (!_written.Add(name)) throw new InvalidOperationException($"metric family '{name}' was written already: each family is written once, with all its samples");
        _family = name;
        _type = type;
        output.Append("# HELP ").Append(name).Append(' ');
        AppendEscaped(help, escapeQuote: false);
        output.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type switch
        {
            MetricType.Counter => "counter",
            MetricType.Gauge => "gauge",
            _ => "histogram",
        }).Append('\n');
    }

    /// <summary>A sample of the current counter or gauge family.</summary>
    public void Sample(long value, params ReadOnlySpan<Label> labels)
    {
        var name = Current(histogram: false);
        Line(name, "", labels, default);
        output.Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <summary>A sample of the current counter or gauge family.</summary>
    public void Sample(double value, params ReadOnlySpan<Label> labels)
    {
        var name = Current(histogram: false);
        Line(name, "", labels, default);
        AppendNumber(value);
        output.Append('\n');
    }

    /// <summary>A histogram of the current histogram family: a cumulative <c>_bucket</c> per bound and
    /// <c>le="+Inf"</c>, then <c>_sum</c> and <c>_count</c>. Counts read from lock-free counters while
    /// they move can be out of step; they are raised to be monotonic (and +Inf to the count) so the
    /// series never shows a bucket above a larger bound, which <c>histogram_quantile</c> would misread.</summary>
    public void Histogram(HistogramValue h, params ReadOnlySpan<Label> labels)
    {
        var name = Current(histogram: true);
        if (h.UpperBounds.Count != h.CumulativeCounts.Count) throw new ArgumentException("a count for each upper bound", nameof(h));
        long running = 0;
        for (int i = 0; i < h.UpperBounds.Count; i++)
        {
            if (i > 0 && !(h.UpperBounds[i] > h.UpperBounds[i - 1])) throw new ArgumentException("upper bounds must ascend", nameof(h));
            running = Math.Max(running, h.CumulativeCounts[i]);
            Line(name, "_bucket", labels, new Label("le", Number(h.UpperBounds[i])));
            output.Append(running.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        long count = Math.Max(running, h.Count);
        Line(name, "_bucket", labels, new Label("le", "+Inf"));
        output.Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Line(name, "_sum", labels, default);
        AppendNumber(h.Sum);
        output.Append('\n');
        Line(name, "_count", labels, default);
        output.Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private string Current(bool histogram)
    {
        if (_family is null) throw new InvalidOperationException("a sample before any family");
        if (histogram != (_type == MetricType.Histogram))
            throw new InvalidOperationException(histogram ? $"'{_family}' is not a histogram" : $"'{_family}' is a histogram: use Histogram()");
        return _family;
    }

    /// <summary>name{labels...,extra} and the space before the value.</summary>
    private void Line(string name, string suffix, ReadOnlySpan<Label> labels, Label extra)
    {
        output.Append(name).Append(suffix);
        if (labels.Length > 0 || extra.Name is not null)
        {
            output.Append('{');
            bool first = true;
            foreach (var label in labels) Append(label, ref first);
            if (extra.Name is not null) Append(extra, ref first);
            output.Append('}');
        }
        output.Append(' ');
    }

    private void Append(Label label, ref bool first)
    {
        if (!IsLabelName(label.Name)) throw new ArgumentException($"'{label.Name}' is not a valid label name");
        if (!first) output.Append(',');
        first = false;
        output.Append(label.Name).Append("=\"");
        AppendEscaped(label.Value ?? "", escapeQuote: true);
        output.Append('"');
    }

    /// <summary>Label values escape backslash, double quote and line feed; HELP text backslash and line feed.</summary>
    private void AppendEscaped(string text, bool escapeQuote)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\': output.Append(@"\\"); break;
                case '\n': output.Append(@"\n"); break;
                case '"' when escapeQuote: output.Append("\\\""); break;
                default: output.Append(c); break;
            }
        }
    }

    private void AppendNumber(double value) => output.Append(Number(value));

    /// <summary>Go's ParseFloat spellings: +Inf, -Inf, NaN; otherwise the shortest round-trip form.</summary>
    internal static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    internal static bool IsMetricName(string name)
    {
        if (string.IsNullOrEmpty(name)) return false;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or ':' || (i > 0 && c is >= '0' and <= '9');
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>Label names: no colon, and names starting with <c>__</c> are Prometheus' own.</summary>
    internal static bool IsLabelName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.StartsWith("__", StringComparison.Ordinal)) return false;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' || (i > 0 && c is >= '0' and <= '9');
            if (!ok) return false;
        }
        return true;
    }
}
