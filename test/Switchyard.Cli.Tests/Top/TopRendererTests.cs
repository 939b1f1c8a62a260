using Switchyard.Cli.Top;
using static Switchyard.Cli.Tests.Top.TopSamples;

namespace Switchyard.Cli.Tests.Top;

/// <summary>The text of the view, from two samples and a screen size.</summary>
public sealed class TopRendererTests
{
    private static readonly TopSample Before = Sample(0, Net(NetInfo(nat: new() { TcpFlows = 4, UdpFlows = 2 }, egress: "deny"),
        Endpoint("web", 0, 0), Endpoint("a-guest-with-a-rather-long-name-indeed", 0, 0, ip: "10.10.0.3")));

    private static readonly TopSample After = Sample(2, new NetworkSample(NetInfo(dnsQueries: 12, nat: new() { TcpFlows = 4, UdpFlows = 2 }, egress: "deny"),
        [Endpoint("web", 2_468_000, 24_000, framesIn: 2_000, framesOut: 30), Endpoint("a-guest-with-a-rather-long-name-indeed", 100, 0, ip: "10.10.0.3")],
        [Egress("web", "deny", "93.184.215.14:443", "name-not-allowed"), Egress("web", "allow", "10.1.2.3:80", "allowed-cidr")],
        [Flow(40000, "198.51.100.7:443", age: 1.5, fromGuest: 1_000, toGuest: 3_000_000), Flow(40001, "10.10.0.1:8080", age: 4_000, 0, 0, published: true)]));

    [Fact]
    public void A_wide_screen_shows_every_column()
    {
        var lines = TopRenderer.Render(Before, After, width: 160);
        string text = string.Join("\n", lines);
        Assert.Contains("lab  nat  10.10.0.0/24  2 endpoints  NAT flows tcp 4 udp 2 icmp 0  DNS 12 queries (6/s)  egress default deny", text);
        Assert.Contains("rates over 2 s", lines[0]);
        string header = lines.Single(l => l.TrimStart().StartsWith("ENDPOINT", StringComparison.Ordinal) && l.Contains("IN B/s"));
        foreach (var column in new[] { "OUT B/s", "IN fr/s", "OUT fr/s", "DROPS", "IPV4", "TRANSPORT", "MAC" }) Assert.Contains(column, header);
        // 2,468,000 bytes in 2 s: 1.2M/s in; 12k/s out; 1000 frames/s is 1.0k.
        string web = lines.First(l => l.TrimStart().StartsWith("web ", StringComparison.Ordinal));
        Assert.Matches(@"web\s+1\.2M\s+12k\s+1\.0k\s+15\s+0\s+10\.10\.0\.2\s+tap\s+02:11:22:33:44:55", web);
        // The busiest endpoint is the first row; a long name is cut with "~".
        int webRow = lines.ToList().IndexOf(web);
        Assert.Contains("a-guest-with-a-rather-l~", lines[webRow + 1]);
        Assert.Contains(lines, l => l.Contains("deny") && l.Contains("93.184.215.14:443") && l.Contains("name-not-allowed"));
        // Flows: opened since the first sample (younger than the interval), so all their bytes count over the 2 s.
        int flows = lines.ToList().FindIndex(l => l.Contains("NAT flows (busiest 2 of 2)"));
        Assert.True(flows > 0, text);
        Assert.Matches(@"PROTO\s+ENDPOINT\s+DESTINATION\s+IN B/s\s+OUT B/s\s+STATE\s+AGE\s+IDLE\s+GUEST", lines[flows + 1]);
        Assert.Matches(@"tcp\s+web\s+198\.51\.100\.7:443\s+500\s+1\.5M\s+established\s+1s\s+0s\s+10\.10\.0\.2:40000", lines[flows + 2]);
        Assert.Matches(@"tcp\s+web\s+10\.10\.0\.1:8080 \(published\)\s+0\s+0\s+established\s+1h", lines[flows + 3]);
    }

    [Theory]
    [InlineData(80)]
    [InlineData(60)]
    [InlineData(40)]
    [InlineData(24)]
    public void No_line_is_wider_than_the_screen(int width)
    {
        var lines = TopRenderer.Render(Before, After, width);
        Assert.All(lines, l => Assert.True(l.Length <= width, $"{l.Length} > {width}: '{l}'"));
        // What matters most stays while there is room for it: the name and the rate in.
        string web = lines.First(l => l.TrimStart().StartsWith("web", StringComparison.Ordinal));
        if (width >= 40) Assert.Contains("1.2M", web);
    }

    [Fact]
    public void Narrow_screens_drop_the_least_important_columns_first()
    {
        string Header(int width) => TopRenderer.Render(Before, After, width).First(l => l.Contains("ENDPOINT") && l.Contains("IN B/s")); // the endpoints' table comes first
        var wide = Header(200);
        var mid = Header(70);
        var narrow = Header(40);
        Assert.Contains("MAC", wide);
        Assert.DoesNotContain("MAC", mid);
        Assert.DoesNotContain("TRANSPORT", mid);
        Assert.Contains("OUT B/s", mid);
        Assert.Contains("DROPS", mid);
        Assert.DoesNotContain("IPV4", narrow);
        Assert.Contains("IN B/s", narrow);
    }

    [Fact]
    public void A_short_screen_says_what_was_cut()
    {
        var all = TopRenderer.Render(Before, After, 120);
        var lines = TopRenderer.Render(Before, After, 120, height: 5);
        Assert.Equal(5, lines.Count);
        Assert.Equal(all.Take(4), lines.Take(4));
        Assert.Contains($"{all.Count - 4} more lines", lines[4]);
    }

    [Fact]
    public void The_first_frame_has_no_rates_yet()
    {
        var lines = TopRenderer.Render(null, Before, 120);
        Assert.Contains("measuring", lines[0]);
        Assert.Matches(@"web\s+-\s+-\s+-\s+-\s+0", lines.First(l => l.TrimStart().StartsWith("web ", StringComparison.Ordinal)));
        Assert.Contains("no networks", TopRenderer.Render(null, Sample(0), 80));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(59.9, "59s")]
    [InlineData(60, "1m")]
    [InlineData(7_199, "1h")]
    [InlineData(200_000, "2d")]
    public void Ages_read_at_a_glance(double seconds, string expected) => Assert.Equal(expected, TopRenderer.Duration(seconds));

    [Theory]
    [InlineData(0, "0")]
    [InlineData(0.5, "0.5")]
    [InlineData(12.4, "12")]
    [InlineData(999, "999")]
    [InlineData(999.6, "1.0k")]
    [InlineData(1_234, "1.2k")]
    [InlineData(56_789, "57k")]
    [InlineData(3_400_000, "3.4M")]
    [InlineData(5.6e9, "5.6G")]
    public void Rates_read_in_four_characters(double value, string expected) => Assert.Equal(expected, TopRenderer.Human(value));
}
