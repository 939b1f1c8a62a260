using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary><c>/metrics</c> of the daemon as shipped (NativeAOT): on the socket and on
/// <c>--http-listen</c>, accepted by promtool, with the process families that read /proc.</summary>
public sealed class NativeMetricsTests
{
    [NativeDaemonFact]
    public async Task The_native_daemon_serves_metrics_promtool_accepts()
    {
        var bin = Environment.GetEnvironmentVariable("YARD_NATIVE");
        Assert.False(string.IsNullOrEmpty(bin), "YARD_NATIVE is not set: ./test.sh builds it with packaging/build-native.sh");
        var dir = Directory.CreateTempSubdirectory("yard-native-metrics-");
        string socket = Path.Combine(dir.FullName, "yard.sock");
        int port = FreePort();
        using var daemon = Command.Start(bin!, ["daemon", "--state-dir", Path.Combine(dir.FullName, "state"), "--socket", socket,
            "--http-listen", $"127.0.0.1:{port}"]);
        try
        {
            Assert.True(SpinWait.SpinUntil(() => File.Exists(socket) || daemon.HasExited, TimeSpan.FromSeconds(15)), "the native daemon did not create its socket");
            Assert.False(daemon.HasExited, "the native daemon exited");
            using var client = new SwitchyardClient(socket);
            var net = await client.CreateNetworkAsync(new NetworkCreateRequest { Name = $"nm{Random.Shared.Next(1000, 9999)}", DnsUpstreams = ["none"],
                Subnet = $"10.{Random.Shared.Next(170, 180)}.{Random.Shared.Next(0, 250)}.0/24" });

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            string text = "";
            await Eventually.UntilAsync(async () =>
            {
                try { text = await http.GetStringAsync("metrics"); return true; }
                catch (HttpRequestException) { await Task.Delay(100); return false; }
            }, TimeSpan.FromSeconds(15), () => "the native daemon's --http-listen never answered");

            Assert.Contains($"switchyard_gateway_drops_total{{network=\"{net.Name}\",reason=\"malformed\"}} 0\n", text);
            Assert.Contains("process_resident_memory_bytes ", text);
            Assert.Contains("process_open_fds ", text);
            Assert.Contains("switchyard_api_requests_total{route=\"/networks\",method=\"POST\",status=\"201\"} 1\n", text);
            var check = Promtool.CheckMetrics(text);
            Assert.True(check.ExitCode == 0 && check.StdOut.Trim().Length == 0 && check.StdErr.Trim().Length == 0,
                $"promtool check metrics exited {check.ExitCode}:\n{check.StdOut}{check.StdErr}");
        }
        finally
        {
            if (!daemon.HasExited) { daemon.Kill(); daemon.WaitForExit(5000); }
            try { dir.Delete(recursive: true); } catch (IOException) { }
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }
}
