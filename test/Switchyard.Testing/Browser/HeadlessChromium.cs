using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchyard.Testing.Browser;

/// <summary>
/// A real browser for tests: Debian's headless Chromium, driven over the W3C WebDriver HTTP protocol by Debian's
/// chromedriver (plain JSON over HttpClient: no Selenium package). The test starts Chromium itself, with
/// <c>--remote-debugging-port=0</c> and a fresh profile, and has chromedriver attach to it (<c>debuggerAddress</c>), so
/// both PIDs are the test's own: Dispose ends the session and kills chromedriver and Chromium (with the renderer and
/// helper processes it started) by PID, then deletes the profile.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ChromedriverPath = "/usr/bin/chromedriver";

    private readonly Process _chromium;
    private readonly Process _driver;
    private readonly string _profile;
    private readonly HttpClient _http;
    private string? _session;
    private int _disposed;

    private HeadlessChromium(Process chromium, Process driver, string profile, int driverPort)
    {
        _chromium = chromium;
        _driver = driver;
        _profile = profile;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{driverPort}/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Why a browser test cannot run here (Chromium or chromedriver missing), or null.</summary>
    public static string? Missing() =>
        !File.Exists(ChromiumPath) ? $"{ChromiumPath} (Debian package chromium)"
        : !File.Exists(ChromedriverPath) ? $"{ChromedriverPath} (Debian package chromium-driver)"
        : null;

    /// <summary>Starts Chromium with a <paramref name="width"/> x <paramref name="height"/> window and a WebDriver session on it.</summary>
    public static async Task<HeadlessChromium> StartAsync(int width = 1366, int height = 900)
    {
        var profile = Directory.CreateTempSubdirectory("sy-chromium-").FullName;
        Process? chromium = null, driver = null;
        try
        {
            // The flags keep it from calling home (component updates, sync, QUIC probes): the test's only traffic is the
            // page it loads from the test's daemon on loopback.
            chromium = Launch(ChromiumPath, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-extensions", "--no-default-browser-check", "--mute-audio", $"--window-size={width},{height}",
                $"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"]);
            // Chromium writes the port it chose into the profile once DevTools listens.
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            await Eventually.UntilAsync(() =>
            {
                if (chromium.HasExited) throw new InvalidOperationException($"chromium exited with {chromium.ExitCode}");
                return File.Exists(portFile) && File.ReadAllLines(portFile) is [var p, ..] && int.TryParse(p, out _);
            }, Bounds.Generous, () => $"{portFile} never appeared");
            int devtools = int.Parse(File.ReadAllLines(portFile)[0]);

            int driverPort = FreePort();
            driver = Launch(ChromedriverPath, [$"--port={driverPort}", "--allowed-ips=127.0.0.1"]);
            var browser = new HeadlessChromium(chromium, driver, profile, driverPort);
            try
            {
                await Eventually.UntilAsync(async () =>
                {
                    if (driver.HasExited) throw new InvalidOperationException($"chromedriver exited with {driver.ExitCode}");
                    try { return (await browser.SendAsync(HttpMethod.Get, "status"))?["ready"]?.GetValue<bool>() == true; }
                    catch (HttpRequestException) { return false; }
                }, Bounds.Generous, () => "chromedriver never became ready");
                var session = await browser.SendAsync(HttpMethod.Post, "session", new JsonObject
                {
                    ["capabilities"] = new JsonObject
                    {
                        ["alwaysMatch"] = new JsonObject
                        {
                            ["goog:chromeOptions"] = new JsonObject { ["debuggerAddress"] = $"127.0.0.1:{devtools}" },
                        },
                    },
                });
                browser._session = session!["sessionId"]!.GetValue<string>();
                return browser;
            }
            catch
            {
                await browser.DisposeAsync();
                throw;
            }
        }
        catch
        {
            Kill(driver);
            Kill(chromium);
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    public Task NavigateAsync(string url) => SendAsync(HttpMethod.Post, $"session/{_session}/url", new JsonObject { ["url"] = url });

    /// <summary>Runs <paramref name="script"/> (a function body; <c>arguments[i]</c> are <paramref name="args"/>) in the page and returns its value.</summary>
    public async Task<JsonNode?> ExecuteAsync(string script, params JsonNode?[] args) =>
        await SendAsync(HttpMethod.Post, $"session/{_session}/execute/sync", new JsonObject
        {
            // Copies: a node has one parent, and a polling caller passes the same arguments again.
            ["script"] = script, ["args"] = new JsonArray([.. args.Select(a => a?.DeepClone())]),
        });

    /// <summary>Polls <paramref name="script"/> until it returns something truthy (not null, false, 0 or ""), and returns that.</summary>
    public Task<JsonNode> WaitForAsync(string script, TimeSpan timeout, string what) => WaitForAsync(script, [], timeout, what);

    /// <inheritdoc cref="WaitForAsync(string, TimeSpan, string)"/>
    public async Task<JsonNode> WaitForAsync(string script, JsonNode?[] arguments, TimeSpan timeout, string what)
    {
        JsonNode? value = null;
        await Eventually.UntilAsync(async () => Truthy(value = await ExecuteAsync(script, arguments)), timeout,
            () => $"the page did not show {what}; the script returned {value?.ToJsonString() ?? "null"}");
        return value!;
    }

    /// <summary>A PNG of the viewport.</summary>
    public async Task<byte[]> ScreenshotAsync() =>
        Convert.FromBase64String((await SendAsync(HttpMethod.Get, $"session/{_session}/screenshot"))!.GetValue<string>());

    /// <summary>Makes the page see a device of this size (CSS pixels) and pixel ratio, as a phone's browser would
    /// (DevTools' Emulation.setDeviceMetricsOverride through chromedriver).</summary>
    public Task EmulateDeviceAsync(int width, int height, double pixelRatio, bool mobile) =>
        SendAsync(HttpMethod.Post, $"session/{_session}/goog/cdp/execute", new JsonObject
        {
            ["cmd"] = "Emulation.setDeviceMetricsOverride",
            ["params"] = new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = pixelRatio, ["mobile"] = mobile },
        });

    /// <summary>Makes the page see the system's colour scheme as "light" or "dark" (prefers-color-scheme).</summary>
    public Task EmulateColorSchemeAsync(string scheme) =>
        SendAsync(HttpMethod.Post, $"session/{_session}/goog/cdp/execute", new JsonObject
        {
            ["cmd"] = "Emulation.setEmulatedMedia",
            ["params"] = new JsonObject { ["features"] = new JsonArray(new JsonObject { ["name"] = "prefers-color-scheme", ["value"] = scheme }) },
        });

    private static bool Truthy(JsonNode? v) => v switch
    {
        null => false,
        JsonValue j when j.TryGetValue<bool>(out var b) => b,
        JsonValue j when j.TryGetValue<double>(out var d) => d != 0,
        JsonValue j when j.TryGetValue<string>(out var s) => s.Length > 0,
        _ => true,
    };

    /// <summary>One WebDriver command; returns its "value", or throws with the driver's error and message.</summary>
    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonObject? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        // A string, not JsonContent: chromedriver's server needs a Content-Length and cannot read a chunked body.
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var value = JsonNode.Parse(text)?["value"];
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"WebDriver {method} /{path}: {(int)response.StatusCode} {value?["error"]}: {value?["message"]}");
        return value;
    }

    private static Process Launch(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        // Drained and dropped: Chromium logs a lot, and a full pipe would block it.
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>By PID: the process and the processes it started (Chromium's renderers and zygote), never by name.</summary>
    private static void Kill(Process? p)
    {
        if (p is null) return;
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException) { }
        p.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_session is not null)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var _ = await _http.DeleteAsync($"session/{_session}", cts.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException) { }
        }
        _http.Dispose();
        Kill(_driver);
        Kill(_chromium);
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { }
    }
}
