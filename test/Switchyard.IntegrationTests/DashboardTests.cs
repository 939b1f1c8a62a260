using System.Diagnostics;
using System.Text.Json.Nodes;
using Switchyard.Testing;
using Switchyard.Testing.Browser;
using Xunit.Abstractions;
using static Switchyard.IntegrationTests.EgressExpect;

namespace Switchyard.IntegrationTests;

/// <summary>
/// The web dashboard (docs/dashboard.md) in a real browser: Debian's headless Chromium, driven over WebDriver, loads
/// the page from a live daemon's <c>--http-listen</c> with namespace guests on an allowlist network, shows them and a NAT flow, and
/// shows a refused egress flow in the live feed within 2 s without a reload. It saves desktop (light and dark) and
/// phone screenshots (the copies in docs/images are from this test) to $SWITCHYARD_SCREENSHOTS or a temp directory.
/// </summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    // What the page shows of one network, read from the DOM (its data- attributes are the page's test surface).
    private const string SectionScript = """
        const s = document.querySelector(`article[data-network="${arguments[0]}"]`);
        if (!s) return null;
        return {
          facts: s.querySelector('.facts').innerText,
          badges: s.querySelector('header').innerText,
          rows: [...s.querySelectorAll('.endpoints tbody tr[data-endpoint]')].map(r => ({ name: r.dataset.endpoint, text: r.innerText })),
          topology: [...s.querySelectorAll('svg.topo g[data-endpoint]')].map(g => g.dataset.endpoint),
          topologyLabel: s.querySelector('svg.topo').getAttribute('aria-label'),
          sparklines: s.querySelectorAll('.endpoints canvas.spark').length,
          flowsCaption: s.querySelector('.flows caption').textContent,
          feed: s.querySelector('ol.events').dataset.stream,
        };
        """;

    [BrowserFact]
    public async Task The_page_shows_networks_and_guests_and_a_refused_flow_within_2_s()
    {
        await using var lan = await EgressLan.StartAsync([EgressWorld.AllowedName], httpListen: true);
        var w = lan.World;
        using var second = await lan.AddGuestAsync("second");
        // An internal network too: a topology without a way out.
        var sandbox = await lan.Daemon.CreateNetworkAsync(["none"], prefix: "sandbox", customize: r => r with { Mode = "internal" });
        using var agent = await Guest.AttachAsync(lan.Client, sandbox.Name, "agent");
        agent.Dhcp();
        await lan.Client.DeleteNetworkAsync("default");   // the fresh daemon's own, empty: not in the pictures
        var inside = await lan.Guest.RefreshAsync();
        var other = await second.RefreshAsync();
        Assert.True(lan.Curl(w.Url(EgressWorld.AllowedName)).Ok, "the allowed site must answer before the page is checked");

        await using var browser = await HeadlessChromium.StartAsync(1366, 1000);
        await browser.NavigateAsync($"http://{lan.Daemon.HttpListenAddress}/");

        var page = await browser.WaitForAsync(
            $"const r = (() => {{ {SectionScript} }})(); return r && r.rows.length === 2 && r.feed === 'live' ? r : null;",
            arguments: [lan.Net.Name], Bounds.Generous, $"network {lan.Net.Name} with two endpoints and a live feed");
        output.WriteLine(page.ToJsonString());
        var facts = page["facts"]!.GetValue<string>();
        Assert.Contains(lan.Net.Subnet, facts);
        Assert.Contains(lan.Net.Gateway, facts);
        Assert.Contains($"allowlist: {EgressWorld.AllowedName}", facts);
        Assert.Contains("nat", page["badges"]!.GetValue<string>());
        var rows = page["rows"]!.AsArray().ToDictionary(r => r!["name"]!.GetValue<string>(), r => r!["text"]!.GetValue<string>());
        Assert.Contains(inside.Ipv4, rows["inside"]);
        Assert.Contains(inside.Mac, rows["inside"], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("bound", rows["inside"]);
        Assert.Contains(other.Ipv4, rows["second"]);
        Assert.Equal(["inside", "second"], page["topology"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
        Assert.Contains("outside via NAT", page["topologyLabel"]!.GetValue<string>());
        Assert.Equal(2, page["sparklines"]!.GetValue<int>());
        Assert.Contains("NAT flows", page["flowsCaption"]!.GetValue<string>());

        var internalNet = await browser.WaitForAsync($"const r = (() => {{ {SectionScript} }})(); return r && r.rows.length === 1 ? r : null;",
            arguments: [sandbox.Name], Bounds.Generous, $"network {sandbox.Name} with its guest");
        Assert.Contains("internal", internalNet["badges"]!.GetValue<string>());
        Assert.Contains("none (all outside traffic allowed)", internalNet["facts"]!.GetValue<string>());
        Assert.DoesNotContain("via NAT", internalNet["topologyLabel"]!.GetValue<string>());

        // The style sheet applied (CSP let it in) and the status says live.
        Assert.Equal("10px", (await browser.ExecuteAsync("return getComputedStyle(document.querySelector('article.network')).borderTopLeftRadius;"))!.GetValue<string>());
        Assert.Equal("live", (await browser.ExecuteAsync("return document.getElementById('status').dataset.state;"))!.GetValue<string>());

        // A mark on the window: a reload would wipe it.
        await browser.ExecuteAsync("window.__switchyardTest = 42;");
        var refused = lan.Curl($"http://{w.BlockedAddress}/");
        var clock = Stopwatch.StartNew();
        RefusedFast(refused, w.DefaultBody);
        var destination = Destination(w.BlockedAddress, 80);
        var shown = await browser.WaitForAsync(
            "const li = document.querySelector(`article[data-network=\"${arguments[0]}\"] ol.events li[data-verdict=\"deny\"][data-destination=\"${arguments[1]}\"]`); return li ? li.innerText : null;",
            arguments: [lan.Net.Name, destination], TimeSpan.FromSeconds(2), $"the refused flow to {destination} in the feed");
        output.WriteLine($"refused flow shown {clock.ElapsedMilliseconds} ms after curl returned: {shown}");
        Assert.Contains("inside", shown.GetValue<string>());
        Assert.Equal(42, (await browser.ExecuteAsync("return window.__switchyardTest;"))!.GetValue<int>());

        // A connection the guest holds open through the NAT shows in the flows table, with its endpoint and state.
        var echo = Destination(w.AllowedAddress, EgressWorld.EchoPort);
        using var held = ChildProcess.Start("ip", ["netns", "exec", lan.Guest.Namespace.Name, "python3", "-c",
            $"import socket, time\ns = socket.create_connection(('{w.AllowedAddress}', {EgressWorld.EchoPort}), timeout=10)\n" +
            "s.sendall(b'hello from the dashboard test\\n'); s.recv(100); time.sleep(120)"]);
        var flow = await browser.WaitForAsync(
            "const r = [...document.querySelectorAll(`article[data-network=\"${arguments[0]}\"] .flows tbody tr`)].find(r => r.dataset.destination === arguments[1]); return r ? r.innerText : null;",
            [lan.Net.Name, echo], Bounds.Generous, $"the flow to {echo}");
        output.WriteLine($"flow row: {flow}");
        Assert.Contains("inside", flow.GetValue<string>());
        Assert.Contains("established", flow.GetValue<string>());

        // Traffic for several seconds from a loop in the guest (the test waits without blocking a thread the in-process
        // daemon may need), and the chart must draw it above its baseline.
        using var load = ChildProcess.Start("ip", ["netns", "exec", lan.Guest.Namespace.Name, "sh", "-c",
            $"for i in $(seq 40); do curl -s -o /dev/null --max-time 2 --cacert {w.CaFile} {w.Url(EgressWorld.AllowedName)}; sleep 0.2; done"]);
        await browser.WaitForAsync(
            "return [...document.querySelectorAll(`article[data-network=\"${arguments[0]}\"] tr[data-endpoint=\"inside\"] .legend .in`)].some(e => !e.textContent.includes(' 0 B/s'));",
            [lan.Net.Name], Bounds.Generous, "a non-zero rate for inside");
        var inked = await browser.WaitForAsync("""
            const c = document.querySelector(`article[data-network="${arguments[0]}"] tr[data-endpoint="inside"] canvas.spark`);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height - 3 * devicePixelRatio).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
            """, [lan.Net.Name], Bounds.Generous, "a traffic chart with something drawn above its baseline");
        output.WriteLine($"pixels drawn in inside's chart: {inked}");
        // Not a check: some seconds of chart for the pictures (the rates seen meanwhile go to the test's output).
        for (var shot = Stopwatch.StartNew(); shot.Elapsed < TimeSpan.FromSeconds(8);)
        {
            await Task.Delay(500);
            output.WriteLine((await browser.ExecuteAsync(
                "return document.getElementById('status').textContent + ' | ' + document.querySelector(`article[data-network=\"${arguments[0]}\"] tr[data-endpoint=\"inside\"] .legend`).textContent;",
                lan.Net.Name))!.GetValue<string>());
        }
        // Another refusal, so the pictures show one at the top of the feed.
        Assert.False(load.HasExited && load.ExitCode != 0, $"the traffic loop failed: {load.Output}");
        load.Dispose();
        const string NewestDeny = "return document.querySelector(`article[data-network=\"${arguments[0]}\"] ol.events li[data-verdict=\"deny\"] time`)?.getAttribute('datetime') ?? '';";
        var before = (await browser.ExecuteAsync(NewestDeny, lan.Net.Name))!.GetValue<string>();
        RefusedFast(lan.Curl($"http://{w.BlockedAddress}/"), w.DefaultBody);
        await browser.WaitForAsync($"return ((() => {{ {NewestDeny} }})() || {JsonValue.Create(before).ToJsonString()}) !== {JsonValue.Create(before).ToJsonString()};",
            [lan.Net.Name], TimeSpan.FromSeconds(2), "the second refusal");

        var dir = Environment.GetEnvironmentVariable("SWITCHYARD_SCREENSHOTS") is { Length: > 0 } d ? d
            : Path.Combine(Path.GetTempPath(), "switchyard-dashboard");
        Directory.CreateDirectory(dir);

        int height = (await browser.ExecuteAsync("return document.documentElement.scrollHeight;"))!.GetValue<int>();
        await browser.EmulateDeviceAsync(1366, Math.Clamp(height, 700, 2200), 1, mobile: false);
        await File.WriteAllBytesAsync(Path.Combine(dir, "dashboard-desktop.png"), await browser.ScreenshotAsync());

        // Dark when the system is: the colours change, and the charts are redrawn in them on the next poll.
        const string Status = "return document.getElementById('status').textContent;";
        await browser.EmulateColorSchemeAsync("dark");
        Assert.Equal("rgb(13, 17, 23)", (await browser.ExecuteAsync("return getComputedStyle(document.body).backgroundColor;"))!.GetValue<string>());
        var polled = (await browser.ExecuteAsync(Status))!.GetValue<string>();
        await browser.WaitForAsync($"return document.getElementById('status').textContent !== {JsonValue.Create(polled).ToJsonString()};",
            Bounds.Generous, "another poll");
        await File.WriteAllBytesAsync(Path.Combine(dir, "dashboard-dark.png"), await browser.ScreenshotAsync());
        await browser.EmulateColorSchemeAsync("light");

        await browser.EmulateDeviceAsync(390, 844, 2, mobile: true);
        await browser.WaitForAsync("return innerWidth === 390;", Bounds.Generous, "the phone's width");
        // The guests' network at the top of the phone's screen, below the sticky header.
        await browser.ExecuteAsync("""
            const a = document.querySelector(`article[data-network="${arguments[0]}"]`);
            scrollTo(0, a.getBoundingClientRect().top + scrollY - document.querySelector('header.top').offsetHeight - 8);
            """, lan.Net.Name);
        // Readable on a phone: nothing wider than the screen (tables turn into one card per row).
        var overflow = await browser.ExecuteAsync("return document.documentElement.scrollWidth - innerWidth;");
        Assert.True(overflow!.GetValue<int>() <= 0, $"the page is {overflow} px wider than a phone's screen");
        await File.WriteAllBytesAsync(Path.Combine(dir, "dashboard-phone.png"), await browser.ScreenshotAsync());
        output.WriteLine($"screenshots in {dir}");
    }
    /// <summary>A browser opens six HTTP/1.1 connections to one origin: with an event stream per network, six
    /// networks would hold them all and the page's polls would never run. Three stream (networks with a policy first);
    /// the rest are polled.</summary>
    [BrowserFact]
    public async Task Many_networks_do_not_starve_the_polls()
    {
        await using var daemon = await TestDaemon.StartAsync(httpListen: true);
        var names = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            var net = await daemon.CreateNetworkAsync(["none"], prefix: "many", customize: r => r with
            {
                Mode = "nat", Egress = new Client.EgressPolicySpec { Default = "deny", Allow = [EgressWorld.AllowedName] },
            });
            names.Add(net.Name);
        }
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync($"http://{daemon.HttpListenAddress}/");
        const string Feeds = "return [...document.querySelectorAll('article[data-network] ol.events')].map(o => o.dataset.stream ?? '').sort().join(',');";
        var feeds = await browser.WaitForAsync(
            $"const f = (() => {{ {Feeds} }})(); return f === 'live,live,live,polled,polled,polled,polled' ? f : null;",
            Bounds.Generous, "three streamed feeds (networks with a policy) and four polled (the rest, and the default network)");
        Assert.Equal("live,live,live,polled,polled,polled,polled", feeds.GetValue<string>());

        // The polls go on: the status moves on twice, and a network created now appears.
        for (int i = 0; i < 2; i++)
        {
            var status = (await browser.ExecuteAsync("return document.getElementById('status').textContent;"))!.GetValue<string>();
            await browser.WaitForAsync($"return document.getElementById('status').textContent !== {JsonValue.Create(status).ToJsonString()};",
                Bounds.Generous, "another poll");
        }
        var late = await daemon.CreateNetworkAsync(["none"], prefix: "late", customize: r => r with { Mode = "internal" });
        await browser.WaitForAsync("return !!document.querySelector(`article[data-network=\"${arguments[0]}\"]`);", [late.Name],
            Bounds.Generous, $"the network {late.Name} created after the page loaded");
        Assert.Equal(8, (await browser.ExecuteAsync("return document.querySelectorAll('article[data-network]').length;"))!.GetValue<int>());
    }
}
