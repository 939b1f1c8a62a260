using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Switchyard.Testing;

/// <summary>
/// A real Prometheus server (Debian package <c>prometheus</c>) scraping one target every second: its
/// own configuration and TSDB in a scratch directory, its web API on 127.0.0.1 and a free port.
/// Start returns once it is ready; <see cref="QueryAsync"/> asks its HTTP query API; Dispose kills it
/// by its PID and deletes the scratch.
/// </summary>
public sealed class PrometheusServer : IDisposable
{
    private readonly ChildProcess _process;
    private readonly string _scratch;
    private readonly HttpClient _http;

    private PrometheusServer(ChildProcess process, string scratch, IPEndPoint web)
    {
        _process = process;
        _scratch = scratch;
        Web = web;
        _http = new HttpClient { BaseAddress = new Uri($"http://{web}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Where its web UI and API listen.</summary>
    public IPEndPoint Web { get; }
    public int Pid => _process.Pid;
    /// <summary>Its log so far (for failure messages).</summary>
    public string Output => _process.Output;

    /// <summary>Scrapes <c>http://TARGET/metrics</c> every second as job <paramref name="job"/>.</summary>
    public static async Task<PrometheusServer> StartAsync(IPEndPoint target, string job = "switchyard")
    {
        string binary = Promtool.Require("prometheus", "prometheus");
        string scratch = Directory.CreateTempSubdirectory("sy-prometheus-").FullName;
        ChildProcess? process = null;
        try
        {
            string config = Path.Combine(scratch, "prometheus.yml");
            File.WriteAllText(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: {job}
                    metrics_path: /metrics
                    static_configs:
                      - targets: ['{target}']
                """);
            var web = new IPEndPoint(IPAddress.Loopback, FreePort());
            process = ChildProcess.Start(binary,
            [
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(scratch, "data")}",
                $"--web.listen-address={web}",
                "--log.level=warn",
            ]);
            var server = new PrometheusServer(process, scratch, web);
            await Eventually.UntilAsync(server.IsReadyAsync, TimeSpan.FromSeconds(60), () => $"prometheus not ready: {process.Output}");
            return server;
        }
        catch
        {
            process?.Dispose();
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    private async Task<bool> IsReadyAsync()
    {
        _process.ThrowIfExited();
        try
        {
            using var r = await _http.GetAsync("-/ready");
            if (r.IsSuccessStatusCode) return true;
        }
        catch (HttpRequestException) { }
        await Task.Delay(200);
        return false;
    }

    /// <summary>An instant query (<c>/api/v1/query</c>): each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        _process.ThrowIfExited();
        using var r = await _http.GetAsync($"api/v1/query?query={Uri.EscapeDataString(promql)}");
        var body = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"prometheus query '{promql}': {(int)r.StatusCode} {body}");
        using var doc = JsonDocument.Parse(body);
        var result = new List<(IReadOnlyDictionary<string, string>, double)>();
        foreach (var series in doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            var value = series.GetProperty("value")[1].GetString()!;
            result.Add((labels, double.Parse(value, CultureInfo.InvariantCulture)));
        }
        return result;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _http.Dispose();
        _process.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }
}
