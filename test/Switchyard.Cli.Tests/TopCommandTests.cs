using System.Text.Json;
using Switchyard.Cli.Commands;
using Switchyard.Testing;

namespace Switchyard.Cli.Tests;

/// <summary>`yard top`'s arguments, and the real yard.dll's errors and --once output against a daemon.</summary>
public sealed class TopCommandTests
{
    private static readonly string Yard = Path.Combine(AppContext.BaseDirectory, "yard.dll");

    private static Command.Result RunYard(params string[] args) => Command.Run("dotnet", [Yard, .. args], check: false, timeoutMs: 60_000);

    private static string Errors(params string[] args) => string.Join("\n", YardCommand.Build().Parse(args).Errors.Select(e => e.Message));

    [Fact]
    public void Arguments_are_checked_before_any_daemon_call()
    {
        Assert.Equal("", Errors("top"));
        Assert.Equal("", Errors("top", "lab", "--interval", "0.5"));
        Assert.Equal("", Errors("top", "--once", "--format", "json"));
        Assert.Contains("--format json needs --once", Errors("top", "--format", "json"));
        Assert.Contains("--interval must be 0.1-3600 seconds, not '0'", Errors("top", "--interval", "0"));
        Assert.Contains("--interval must be 0.1-3600", Errors("top", "-i", "7200"));
        Assert.NotEqual("", Errors("top", "--interval", "soon"));
        Assert.NotEqual("", Errors("top", "a", "b"));
        Assert.Contains("--format must be table or json", Errors("top", "--once", "--format", "yaml"));
        // The same number parser as egress log's --limit, which threw on text before.
        Assert.Contains("--limit must be 1-100000, not 'abc'", Errors("egress", "log", "net", "--limit", "abc"));
        Assert.Contains("--limit must be 1-100000, not '0'", Errors("egress", "log", "net", "-n", "0"));
        Assert.Equal("", Errors("egress", "log", "net", "-n", "5"));
    }

    [Fact]
    public void Usage_errors_exit_non_zero_without_reaching_for_the_daemon()
    {
        var r = RunYard("top", "--format", "json", "--socket", $"/tmp/yard-test-none-{Guid.NewGuid():N}/yard.sock");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--format json needs --once", r.StdErr);
        Assert.DoesNotContain("cannot reach", r.StdErr);
    }

    [Fact]
    public void No_daemon_is_the_usual_one_line_error()
    {
        string socket = $"/tmp/yard-test-none-{Guid.NewGuid():N}/yard.sock";
        var r = RunYard("top", "--once", "--socket", socket);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("yard: cannot reach the Switchyard daemon", Assert.Single(r.StdErr.TrimEnd().Split('\n')));
        Assert.Equal("", r.StdOut);
    }

    [Fact]
    public void The_live_view_wants_a_terminal()
    {
        // Under the test runner stdout is a pipe: a clear error rather than escape codes in a file.
        string socket = $"/tmp/yard-test-none-{Guid.NewGuid():N}/yard.sock";
        var r = RunYard("top", "--socket", socket);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("use --once", r.StdErr);
    }

    [Fact]
    public async Task Once_against_a_daemon_and_an_unknown_network()
    {
        // No root: a stream endpoint nothing connects to (no traffic, so every rate is 0).
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "top");
        string sock = Path.Combine(daemon.Directory, "vm.sock");
        await daemon.Client.AttachEndpointAsync(net.Name, new Switchyard.Client.EndpointAttachRequest
        {
            Name = "vm", Transport = new Switchyard.Client.TransportSpec { Kind = "stream", Listen = sock },
        });

        var json = RunYard("top", net.Name, "--once", "--format", "json", "--interval", "0.2", "--socket", daemon.SocketPath);
        Assert.True(json.ExitCode == 0, json.StdErr);
        using (var doc = JsonDocument.Parse(json.StdOut))
        {
            var root = doc.RootElement;
            Assert.True(root.GetProperty("intervalSeconds").GetDouble() >= 0.2);
            var n = Assert.Single(root.GetProperty("networks").EnumerateArray());
            Assert.Equal(net.Name, n.GetProperty("name").GetString());
            Assert.Equal(net.Subnet, n.GetProperty("subnet").GetString());
            var ep = Assert.Single(n.GetProperty("endpoints").EnumerateArray());
            Assert.Equal("vm", ep.GetProperty("name").GetString());
            Assert.Equal("stream", ep.GetProperty("transport").GetString());
            Assert.Equal(0, ep.GetProperty("bytesInPerSecond").GetDouble());
            Assert.Equal(JsonValueKind.Array, n.GetProperty("egress").ValueKind);
        }

        var table = RunYard("top", "--once", "--interval", "0.1", "--socket", daemon.SocketPath);
        Assert.True(table.ExitCode == 0, table.StdErr);
        Assert.Contains($"{net.Name}  nat  {net.Subnet}  1 endpoint", table.StdOut);
        Assert.Contains("default  nat", table.StdOut);

        var unknown = RunYard("top", "no-such-net", "--once", "--socket", daemon.SocketPath);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("yard: network 'no-such-net' does not exist", unknown.StdErr.TrimEnd());
        Assert.Equal("", unknown.StdOut);
    }
}
