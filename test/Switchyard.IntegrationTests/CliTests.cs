using System.Text.Json;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>The real `yard` binary (yard.dll next to the tests) against an in-process daemon.</summary>
public sealed class CliTests
{
    private static Command.Result Yard(TestDaemon daemon, params string[] args) =>
        Command.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "yard.dll"), "--socket", daemon.SocketPath, .. args], check: false, timeoutMs: 30_000);

    private static void AssertOneErrorLine(Command.Result r)
    {
        Assert.Equal(1, r.ExitCode);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("yard: ", StringComparison.Ordinal), $"stderr: {r.StdErr}");
    }

    [LinuxRootFact]
    public async Task Network_and_endpoint_commands_end_to_end()
    {
        await using var daemon = await TestDaemon.StartAsync();
        string name = TestDaemon.UniqueName("cli");
        string subnet = $"10.{Random.Shared.Next(200, 256)}.{Random.Shared.Next(0, 256)}.0/24";

        AssertOneErrorLine(Yard(daemon, "network", "create", TestDaemon.UniqueName("bad"), "--subnet", "10.0.0.0/33", "--dns-upstream", "none"));

        var created = Yard(daemon, "network", "create", name, "--subnet", subnet, "--dns-upstream", "none");
        Assert.True(created.ExitCode == 0, created.StdErr);
        AssertOneErrorLine(Yard(daemon, "network", "create", name, "--dns-upstream", "none"));
        AssertOneErrorLine(Yard(daemon, "network", "create", TestDaemon.UniqueName("ovl"), "--subnet", subnet, "--dns-upstream", "none"));

        var ls = Yard(daemon, "network", "ls", "--format", "json");
        Assert.Equal(0, ls.ExitCode);
        using (var doc = JsonDocument.Parse(ls.StdOut))
        {
            var net = doc.RootElement.EnumerateArray().Single(n => n.GetProperty("name").GetString() == name);
            Assert.Equal(subnet, net.GetProperty("subnet").GetString());
        }
        string gateway = (await daemon.Client.GetNetworkAsync(name)).Gateway;

        using var ns = TestNamespace.Create("sy-it");
        try
        {
            var attach = Yard(daemon, "endpoint", "attach", name, "web", "--netns", ns.Name, "--configure");
            Assert.True(attach.ExitCode == 0, attach.StdErr);
            var ep = await daemon.Client.GetEndpointAsync(name, "web");
            Assert.Contains($"inet {ep.Ipv4}/24", ns.Ip("addr", "show", "eth0").StdOut);
            Assert.Contains($"default via {gateway}", ns.Ip("route").StdOut);
            Assert.Contains($"nameserver {gateway}", ns.Exec("cat", "/etc/resolv.conf").StdOut);
            var ping = Command.Run("ip", ["netns", "exec", ns.Name, "ping", .. Ping.ExpectingReplies(gateway, 2)], check: false, timeoutMs: 30_000);
            Assert.True(ping.ExitCode == 0, ping.StdOut);

            var inspect = Yard(daemon, "endpoint", "inspect", name, "web");
            Assert.Equal(0, inspect.ExitCode);
            using (var doc = JsonDocument.Parse(inspect.StdOut))
            {
                var root = doc.RootElement;
                Assert.Equal(ep.Mac, root.GetProperty("mac").GetString());
                Assert.Equal(ep.Ipv4, root.GetProperty("ipv4").GetString());
                Assert.Equal("tap", root.GetProperty("transport").GetProperty("kind").GetString());
                Assert.Equal(JsonValueKind.Object, root.GetProperty("counters").GetProperty("drops").ValueKind);
            }

            string missing = TestDaemon.UniqueName("sy-it-missing-");
            var bad = Yard(daemon, "endpoint", "attach", name, "ghost", "--netns", missing);
            AssertOneErrorLine(bad);
            Assert.Contains(missing, bad.StdErr);

            Assert.Equal(0, Yard(daemon, "endpoint", "detach", name, "web").ExitCode);
            Assert.Empty(await daemon.Client.ListEndpointsAsync(name));
        }
        finally
        {
            try { await daemon.Client.DetachEndpointAsync(name, "web"); } catch (Switchyard.Client.SwitchyardApiException) { }
        }
        Assert.Equal(0, Yard(daemon, "network", "rm", name).ExitCode);
        Assert.DoesNotContain(await daemon.Client.ListNetworksAsync(), n => n.Name == name);

        var unknown = Yard(daemon, "network", "ls", "--no-such-option");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("--no-such-option", unknown.StdErr + unknown.StdOut);
    }
}
