using System.Globalization;
using Switchyard.Client;

namespace Switchyard.Cli.Top;

/// <summary>The text of `yard top`: a header per network, its endpoints and NAT flows busiest
/// first, and its newest egress decisions, as lines no wider than the screen. Pure (report and size in, lines
/// out), so the view is tested without a terminal.</summary>
internal static class TopRenderer
{
    /// <summary>How many egress decisions a network shows (the newest).</summary>
    public const int EgressShown = 5;
    /// <summary>How many NAT flows a network shows (the busiest).</summary>
    public const int FlowsShown = 8;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private static readonly TextColumn[] EndpointColumns =
    [
        new("ENDPOINT", 0, MaxWidth: 24),
        new("IN B/s", 0, AlignRight: true),
        new("OUT B/s", 1, AlignRight: true),
        new("IN fr/s", 4, AlignRight: true),
        new("OUT fr/s", 4, AlignRight: true),
        new("DROPS", 3, AlignRight: true),
        new("IPV4", 2),
        new("TRANSPORT", 5),
        new("MAC", 6),
    ];

    private static readonly TextColumn[] FlowColumns =
    [
        new("PROTO", 2),
        new("ENDPOINT", 1, MaxWidth: 20),
        new("DESTINATION", 0, MaxWidth: 48),
        new("IN B/s", 0, AlignRight: true),
        new("OUT B/s", 1, AlignRight: true),
        new("STATE", 3),
        new("AGE", 4, AlignRight: true),
        new("IDLE", 5, AlignRight: true),
        new("GUEST", 6),
    ];

    private static readonly TextColumn[] EgressColumns =
    [
        new("TIME", 2),
        new("VERDICT", 0),
        new("ENDPOINT", 1, MaxWidth: 20),
        new("PROTO", 4),
        new("DESTINATION", 0, MaxWidth: 40),
        new("NAME", 3, MaxWidth: 40),
        new("REASON", 1),
    ];

    /// <summary>The view of two samples (<paramref name="previous"/> null: the first, rates 0).</summary>
    public static IReadOnlyList<string> Render(TopSample? previous, TopSample current, int width, int height = int.MaxValue) =>
        Render(TopRates.Build(previous, current), width, height);

    /// <param name="height">Lines available; what does not fit is cut, with a last line saying how much.</param>
    public static IReadOnlyList<string> Render(TopReport report, int width, int height = int.MaxValue)
    {
        width = Math.Max(width, 20);
        var lines = new List<string>
        {
            TextTable.Fit($"yard top  {report.Time.ToLocalTime().ToString("HH:mm:ss", Invariant)}  "
                + (report.IntervalSeconds > 0 ? $"rates over {report.IntervalSeconds.ToString(report.IntervalSeconds < 1 ? "0.##" : "0.#", Invariant)} s" : "measuring...")
                + "  (in: from the guest, out: to it)", width),
        };
        if (report.Networks.Count == 0) lines.Add("no networks");
        foreach (var n in report.Networks)
        {
            lines.Add("");
            lines.Add(TextTable.Fit(Header(n), width));
            if (n.Endpoints.Count == 0) lines.Add("  no endpoints");
            else lines.AddRange(TextTable.Layout("  ", EndpointColumns, n.Endpoints.Select(e => EndpointRow(e, report.IntervalSeconds > 0)).ToList(), width));
            if (n.Flows.Count > 0)
            {
                int shown = Math.Min(FlowsShown, n.Flows.Count);
                lines.Add(TextTable.Fit($"  NAT flows (busiest {shown} of {n.FlowCount}):", width));
                lines.AddRange(TextTable.Layout("  ", FlowColumns, n.Flows.Take(shown).Select(f => FlowRow(f, report.IntervalSeconds > 0)).ToList(), width));
            }
            if (n.Egress.Count > 0)
            {
                lines.Add(TextTable.Fit($"  egress decisions (newest {Math.Min(EgressShown, n.Egress.Count)}):", width));
                lines.AddRange(TextTable.Layout("  ", EgressColumns, n.Egress.TakeLast(EgressShown).Select(EgressRow).ToList(), width));
            }
        }
        if (lines.Count > height && height > 0)
        {
            int cut = lines.Count - (height - 1);
            lines.RemoveRange(height - 1, cut);
            lines.Add(TextTable.Fit($"... {cut} more lines (a taller terminal, or yard top NETWORK)", width));
        }
        return lines;
    }

    private static string Header(TopNetwork n)
    {
        var parts = new List<string> { n.Name, n.Mode, n.Subnet, $"{n.Endpoints.Count} endpoint{(n.Endpoints.Count == 1 ? "" : "s")}" };
        if (n.Nat is { } nat) parts.Add($"NAT flows tcp {nat.TcpFlows} udp {nat.UdpFlows} icmp {nat.IcmpFlows}");
        parts.Add($"DNS {n.DnsQueries} queries ({Human(n.DnsQueriesPerSecond)}/s)");
        if (n.EgressPolicy is { } policy) parts.Add($"egress default {policy}");
        return string.Join("  ", parts);
    }

    private static IReadOnlyList<string> EndpointRow(TopEndpoint e, bool rates) =>
    [
        e.State == "up" ? e.Name : $"{e.Name} ({e.State})",
        rates ? Human(e.BytesInPerSecond) : "-",
        rates ? Human(e.BytesOutPerSecond) : "-",
        rates ? Human(e.FramesInPerSecond) : "-",
        rates ? Human(e.FramesOutPerSecond) : "-",
        e.Drops.ToString(Invariant),
        e.Ipv4,
        e.Transport,
        e.Mac,
    ];

    private static IReadOnlyList<string> FlowRow(TopFlow f, bool rates) =>
    [
        f.Protocol,
        f.Endpoint ?? "-",
        f.Published ? $"{f.Destination} (published)" : f.Destination,
        rates ? Human(f.BytesInPerSecond) : "-",
        rates ? Human(f.BytesOutPerSecond) : "-",
        f.State,
        Duration(f.AgeSeconds),
        Duration(f.IdleSeconds),
        f.Guest,
    ];

    /// <summary>Seconds as 45s, 12m, 3h or 2d: how long ago, at a glance.</summary>
    internal static string Duration(double seconds) => seconds switch
    {
        < 60 => $"{Math.Floor(Math.Max(0, seconds)).ToString(Invariant)}s",
        < 3600 => $"{Math.Floor(seconds / 60).ToString(Invariant)}m",
        < 86400 => $"{Math.Floor(seconds / 3600).ToString(Invariant)}h",
        _ => $"{Math.Floor(seconds / 86400).ToString(Invariant)}d",
    };

    private static IReadOnlyList<string> EgressRow(EgressEvent e) =>
    [
        e.Time.ToLocalTime().ToString("HH:mm:ss", Invariant), e.Verdict, e.Endpoint, e.Protocol, e.Destination ?? "-", e.Name ?? "-", e.Reason,
    ];

    /// <summary>A rate in at most four characters, SI multiples (network rates count in thousands):
    /// 0, 0.5, 12, 512, 1.2k, 34M, 5.6G.</summary>
    internal static string Human(double v)
    {
        if (v <= 0) return "0";
        if (v < 10) return v.ToString("0.#", Invariant);
        if (v < 999.5) return v.ToString("0", Invariant);
        string[] units = ["k", "M", "G", "T"];
        int u = -1;
        while (v >= 999.5 && u < units.Length - 1) { v /= 1000; u++; }
        return (v < 9.95 ? v.ToString("0.0", Invariant) : v.ToString("0", Invariant)) + units[u];
    }
}
