using System.Globalization;
using System.Text;
using Switchyard.Daemon.Observability;

namespace Switchyard.Daemon.Tests.Observability;

/// <summary>The text exposition format 0.0.4, byte for byte where the format is strict.</summary>
public sealed class PrometheusWriterTests
{
    private readonly StringBuilder _out = new();
    private PrometheusWriter W => _writer ??= new PrometheusWriter(_out);
    private PrometheusWriter? _writer;

    [Fact]
    public void A_counter_has_help_type_and_labelled_samples()
    {
        W.Family("x_frames_total", MetricType.Counter, "Frames.");
        W.Sample(3, new Label("network", "lan"), new Label("direction", "in"));
        W.Sample(0L);
        Assert.Equal("""
            # HELP x_frames_total Frames.
            # TYPE x_frames_total counter
            x_frames_total{network="lan",direction="in"} 3
            x_frames_total 0

            """.ReplaceLineEndings("\n"), _out.ToString());
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData(@"back\slash", @"back\\slash")]
    [InlineData("say \"hi\"", "say \\\"hi\\\"")]
    [InlineData("two\nlines", @"two\nlines")]
    [InlineData("\\\"\n", "\\\\\\\"\\n")]
    [InlineData("tab\tand ü", "tab\tand ü")]
    public void Label_values_escape_backslash_quote_and_newline(string value, string written)
    {
        W.Family("g", MetricType.Gauge, "G.");
        W.Sample(1, new Label("v", value));
        Assert.EndsWith($"g{{v=\"{written}\"}} 1\n", _out.ToString());
    }

    [Fact]
    public void Help_escapes_backslash_and_newline_but_not_quotes()
    {
        W.Family("g", MetricType.Gauge, "a \"b\" c\\d\ne");
        Assert.StartsWith("# HELP g a \"b\" c\\\\d\\ne\n", _out.ToString());
    }

    [Fact]
    public void A_histogram_has_cumulative_buckets_an_inf_bucket_sum_and_count()
    {
        W.Family("x_duration_seconds", MetricType.Histogram, "Latency.");
        W.Histogram(new HistogramValue([0.005, 0.1, 1], [1, 4, 6], 7, 2.5), new Label("network", "lan"));
        Assert.Equal("""
            # HELP x_duration_seconds Latency.
            # TYPE x_duration_seconds histogram
            x_duration_seconds_bucket{network="lan",le="0.005"} 1
            x_duration_seconds_bucket{network="lan",le="0.1"} 4
            x_duration_seconds_bucket{network="lan",le="1"} 6
            x_duration_seconds_bucket{network="lan",le="+Inf"} 7
            x_duration_seconds_sum{network="lan"} 2.5
            x_duration_seconds_count{network="lan"} 7

            """.ReplaceLineEndings("\n"), _out.ToString());
    }

    [Fact]
    public void Histogram_counts_read_while_they_move_are_made_monotonic()
    {
        // A bucket read after a later one grew: never less than the bucket below, +Inf never less than the last.
        W.Family("h_seconds", MetricType.Histogram, "H.");
        W.Histogram(new HistogramValue([1, 2], [5, 4], 3, 1));
        var text = _out.ToString();
        Assert.Contains("h_seconds_bucket{le=\"2\"} 5\n", text);
        Assert.Contains("h_seconds_bucket{le=\"+Inf\"} 5\n", text);
        Assert.Contains("h_seconds_count 5\n", text);
    }

    [Fact]
    public void Histogram_bounds_must_ascend_and_match_their_counts()
    {
        W.Family("h_seconds", MetricType.Histogram, "H.");
        Assert.Throws<ArgumentException>(() => W.Histogram(new HistogramValue([1, 1], [0, 0], 0, 0)));
        Assert.Throws<ArgumentException>(() => W.Histogram(new HistogramValue([1, 2], [0], 0, 0)));
    }

    [Fact]
    public void Families_come_in_the_order_written_each_once()
    {
        W.Family("b", MetricType.Gauge, "B.");
        W.Sample(1);
        W.Family("a_total", MetricType.Counter, "A.");
        W.Sample(2);
        var e = Assert.Throws<InvalidOperationException>(() => W.Family("b", MetricType.Gauge, "B again."));
        Assert.Contains("once", e.Message);
        var text = _out.ToString();
        Assert.True(text.IndexOf("# HELP b ", StringComparison.Ordinal) < text.IndexOf("# HELP a_total ", StringComparison.Ordinal));
        Assert.Equal(1, text.Split('\n').Count(l => l.StartsWith("# TYPE b ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("frames", true)]          // a counter without _total
    [InlineData("up_total", false)]       // a gauge with it
    [InlineData("9lives", false)]
    [InlineData("has-dash", false)]
    [InlineData("", false)]
    public void Bad_names_are_refused(string name, bool counter) =>
        Assert.Throws<ArgumentException>(() => W.Family(name, counter ? MetricType.Counter : MetricType.Gauge, "X."));

    [Theory]
    [InlineData("le-x")]
    [InlineData("__reserved")]
    [InlineData("a:b")]
    [InlineData("0a")]
    public void Bad_label_names_are_refused(string label)
    {
        W.Family("g", MetricType.Gauge, "G.");
        Assert.Throws<ArgumentException>(() => W.Sample(1, new Label(label, "v")));
    }

    [Fact]
    public void Samples_need_a_family_of_their_kind()
    {
        Assert.Throws<InvalidOperationException>(() => W.Sample(1));
        W.Family("g", MetricType.Gauge, "G.");
        Assert.Throws<InvalidOperationException>(() => W.Histogram(new HistogramValue([], [], 0, 0)));
        W.Family("h_seconds", MetricType.Histogram, "H.");
        Assert.Throws<InvalidOperationException>(() => W.Sample(1));
    }

    [Theory]
    [InlineData(1.5, "1.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e-5, "1E-05")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(12345678901.0, "12345678901")]
    public void Numbers_are_invariant_whatever_the_culture(double value, string expected)
    {
        var before = CultureInfo.CurrentCulture;
        try
        {
            // A decimal comma (the build runs with invariant globalization: no de-DE to borrow).
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            comma.NumberFormat.NumberGroupSeparator = ".";
            comma.NumberFormat.PositiveInfinitySymbol = "∞";
            CultureInfo.CurrentCulture = comma;
            W.Family("g", MetricType.Gauge, "G.");
            W.Sample(value);
            Assert.EndsWith($"g {expected}\n", _out.ToString());
        }
        finally { CultureInfo.CurrentCulture = before; }
    }
}
