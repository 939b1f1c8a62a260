using System.Text.Json;
using Switchyard.Testing;

namespace Switchyard.Cli.Tests;

/// <summary>`yard daemon --log-format json`: the real binary's stdout, line by line, as a log shipper reads it.</summary>
public sealed class DaemonLogFormatTests
{
    private static readonly string Yard = Path.Combine(AppContext.BaseDirectory, "yard.dll");

    [Fact]
    public async Task Json_logs_are_one_object_per_line_with_utc_timestamps()
    {
        var dir = Directory.CreateTempSubdirectory("yard-test-");
        try
        {
            string socket = Path.Combine(dir.FullName, "yard.sock"), resolv = Path.Combine(dir.FullName, "resolv.conf");
            File.WriteAllText(resolv, "");
            using var daemon = Command.Start("dotnet", [Yard, "daemon", "--log-format", "json", "--state-dir", Path.Combine(dir.FullName, "state"),
                "--socket", socket, "--resolv-conf", resolv]);
            var stdout = daemon.StandardOutput.ReadToEndAsync();
            var stderr = daemon.StandardError.ReadToEndAsync();
            string net = $"logs{Random.Shared.Next(1000, 9999)}";
            try
            {
                using var client = new Switchyard.Client.SwitchyardClient(socket);
                var sw = System.Diagnostics.Stopwatch.StartNew();
                while (true)
                {
                    try { await client.GetHealthAsync(); break; }
                    catch (Switchyard.Client.SwitchyardUnavailableException) when (sw.Elapsed < TimeSpan.FromSeconds(30) && !daemon.HasExited) { await Task.Delay(50); }
                }
                // Something the daemon logs while running, with a structured argument.
                await client.CreateNetworkAsync(new Switchyard.Client.NetworkCreateRequest { Name = net, Subnet = "10.231.9.0/24", DnsUpstreams = ["none"] });
            }
            finally
            {
                if (!daemon.HasExited) Command.Run("kill", ["-TERM", daemon.Id.ToString()], check: false); // the PID this test started
                if (!daemon.WaitForExit(15_000)) daemon.Kill();
            }
            string output = await stdout;
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 3, $"stdout: {output}\nstderr: {await stderr}");
            var events = new List<JsonElement>();
            foreach (var line in lines)
            {
                using var doc = JsonDocument.Parse(line);   // each line alone is a whole JSON document
                var e = doc.RootElement.Clone();
                Assert.Equal(JsonValueKind.Object, e.ValueKind);
                var time = e.GetProperty("Timestamp").GetString()!;
                Assert.EndsWith("Z", time);
                Assert.True(DateTimeOffset.TryParse(time, System.Globalization.CultureInfo.InvariantCulture, out var at), time);
                Assert.True(Math.Abs((DateTimeOffset.UtcNow - at).TotalMinutes) < 10, time);
                Assert.False(string.IsNullOrEmpty(e.GetProperty("LogLevel").GetString()));
                Assert.False(string.IsNullOrEmpty(e.GetProperty("Category").GetString()));
                events.Add(e);
            }
            Assert.Contains(events, e => e.GetProperty("Message").GetString()!.Contains($"listening on {socket}"));
            var created = Assert.Single(events, e => e.GetProperty("Message").GetString()!.StartsWith($"Network {net} created", StringComparison.Ordinal));
            Assert.Equal(net, created.GetProperty("State").GetProperty("Network").GetString());
            Assert.Contains(events, e => e.GetProperty("Message").GetString() == "Switchyard daemon stopped");
        }
        finally { dir.Delete(recursive: true); }
    }
}
