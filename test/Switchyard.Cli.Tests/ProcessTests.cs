using Switchyard.Testing;

namespace Switchyard.Cli.Tests;

/// <summary>The real yard.dll as a child process: exit codes and what reaches stderr.</summary>
public sealed class ProcessTests
{
    private static readonly string Yard = Path.Combine(AppContext.BaseDirectory, "yard.dll");

    private static Command.Result RunYard(params string[] args)
    {
        Assert.True(File.Exists(Yard), $"{Yard} is missing");
        return Command.Run("dotnet", [Yard, .. args], check: false, timeoutMs: 60_000);
    }

    private static string NowhereSocket() => $"/tmp/yard-test-none-{Guid.NewGuid():N}/yard.sock";

    [Theory]
    [InlineData("network", "ls")]
    [InlineData("endpoint", "ls")]
    [InlineData("version")]
    [InlineData("network", "create", "x")]
    public void No_daemon_is_exit_1_and_one_line(params string[] args)
    {
        var socket = NowhereSocket();
        var r = RunYard([.. args, "--socket", socket]);
        Assert.Equal(1, r.ExitCode);
        var lines = r.StdErr.TrimEnd('\n', '\r').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("yard: cannot reach the Switchyard daemon", lines[0]);
        Assert.Contains(socket, lines[0]);
        Assert.Equal("", r.StdOut);
    }

    [Fact]
    public async Task Socket_from_environment_is_used()
    {
        var socket = NowhereSocket();
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Yard);
        psi.ArgumentList.Add("network");
        psi.ArgumentList.Add("ls");
        psi.Environment["YARD_SOCKET"] = socket;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(true); Assert.Fail("yard did not exit"); }
        Assert.Equal(1, p.ExitCode);
        Assert.Contains(socket, await err);
    }

    [Fact]
    public void A_taken_http_listen_port_is_one_clear_line_and_exit_1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var dir = Directory.CreateTempSubdirectory("yard-test-http-").FullName;
        try
        {
            var r = RunYard("daemon", "--state-dir", Path.Combine(dir, "state"), "--socket", Path.Combine(dir, "yard.sock"),
                "--resolv-conf", Path.Combine(dir, "resolv.conf"), "--http-listen", $"127.0.0.1:{port}");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains($"yard: --http-listen: cannot listen on 127.0.0.1:{port}", r.StdErr);
            Assert.DoesNotContain("   at ", r.StdErr); // no stack trace
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Bad_publish_spec_is_a_usage_error()
    {
        var r = RunYard("endpoint", "publish", "net", "web", "8080", "--socket", NowhereSocket());
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("HOSTPORT:GUESTPORT", r.StdErr);
        Assert.DoesNotContain("cannot reach", r.StdErr); // refused before any daemon call
    }

    [Fact]
    public async Task Publish_commands_against_a_daemon()
    {
        // No root: a stream endpoint (nothing connects to it) and a host port on 127.0.0.1.
        await using var daemon = await TestDaemon.StartAsync();
        string net = TestDaemon.UniqueName("clipub"), sock = Path.Combine(daemon.Directory, "vm.sock");
        string[] on = ["--socket", daemon.SocketPath];
        int port;
        using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var create = RunYard(["network", "create", net, "--subnet", "10.232.0.0/24", "--dns-upstream", "none", "--no-host-loopback", .. on]);
        Assert.True(create.ExitCode == 0, create.StdErr);
        Assert.Contains("mode nat, no host loopback", create.StdOut);
        Assert.False((await daemon.Client.GetNetworkAsync(net)).HostLoopback);

        var attach = RunYard(["endpoint", "attach", net, "vm", "--stream-listen", sock, "--publish", $"{port}:80", .. on]);
        Assert.True(attach.ExitCode == 0, attach.StdErr);
        Assert.Contains($"published 127.0.0.1:{port}:80/tcp", attach.StdOut);

        var ls = RunYard(["endpoint", "ls", net, .. on]);
        Assert.Contains("PUBLISHED", ls.StdOut);
        Assert.Contains($"127.0.0.1:{port}:80/tcp", ls.StdOut);

        // Taken: one error line, exit 1.
        var again = RunYard(["endpoint", "publish", net, "vm", $"127.0.0.1:{port}:80", .. on]);
        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith("yard: ", again.StdErr);
        Assert.Single(again.StdErr.TrimEnd().Split('\n'));

        var json = RunYard(["endpoint", "publish", net, "vm", $"{port}:22/tcp", "--format", "json", .. on]);
        Assert.Equal(1, json.ExitCode); // the same host port for another guest port is still the same host port
        int port2 = port == 65535 ? port - 1 : port + 1;
        json = RunYard(["endpoint", "publish", net, "vm", $"0.0.0.0:{port2}:22", "--format", "json", .. on]);
        if (json.ExitCode == 0)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json.StdOut);
            Assert.Contains($"0.0.0.0:{port2}:22/tcp", doc.RootElement.GetProperty("published").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(0, RunYard(["endpoint", "unpublish", net, "vm", $"0.0.0.0:{port2}:22", .. on]).ExitCode);
        }
        else Assert.Contains("in use", json.StdErr); // someone else had the neighbouring port

        Assert.Equal(0, RunYard(["endpoint", "unpublish", net, "vm", $"{port}:80", .. on]).ExitCode);
        Assert.Empty((await daemon.Client.GetEndpointAsync(net, "vm")).Published!);
        var missing = RunYard(["endpoint", "unpublish", net, "vm", $"{port}:80", .. on]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("is not published", missing.StdErr);
    }

    [Fact]
    public void Bad_mtu_is_a_usage_error()
    {
        var r = RunYard("network", "create", "x", "--mtu", "abc", "--socket", NowhereSocket());
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("abc", r.StdErr);
        Assert.DoesNotContain("cannot reach", r.StdErr); // refused before any daemon call
    }

    [Fact]
    public void Attach_without_target_is_a_usage_error()
    {
        var r = RunYard("endpoint", "attach", "net", "g", "--socket", NowhereSocket());
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("exactly one of", r.StdErr);
        Assert.DoesNotContain("cannot reach", r.StdErr);
    }

    [Fact]
    public void Bad_label_is_exit_1_before_contacting_the_daemon()
    {
        var r = RunYard("network", "create", "x", "--label", "novalue", "--socket", NowhereSocket());
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("yard: invalid label 'novalue'", r.StdErr);
    }

    [Fact]
    public async Task Daemon_follows_the_resolv_conf_it_is_given()
    {
        var dir = Directory.CreateTempSubdirectory("yard-test-");
        try
        {
            string resolv = Path.Combine(dir.FullName, "resolv.conf"), socket = Path.Combine(dir.FullName, "yard.sock");
            File.WriteAllText(resolv, "nameserver 192.0.2.1\n");
            using var daemon = Command.Start("dotnet", [Yard, "daemon", "--state-dir", Path.Combine(dir.FullName, "state"), "--socket", socket, "--resolv-conf", resolv]);
            _ = daemon.StandardOutput.ReadToEndAsync();
            _ = daemon.StandardError.ReadToEndAsync();
            try
            {
                using var client = new Switchyard.Client.SwitchyardClient(socket);
                await UntilAsync(client, "192.0.2.1:53", TimeSpan.FromSeconds(30)); // the daemon's start, then its first read
                File.WriteAllText(resolv, "nameserver 192.0.2.2\n");
                await UntilAsync(client, "192.0.2.2:53", TimeSpan.FromSeconds(20)); // seen within about a second; generous under load
            }
            finally
            {
                if (!daemon.HasExited) Command.Run("kill", ["-TERM", daemon.Id.ToString()], check: false); // the PID this test started
                if (!daemon.WaitForExit(15_000)) daemon.Kill();
            }
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>Waits until the daemon's network "default" asks <paramref name="expected"/>.</summary>
    private static async Task UntilAsync(Switchyard.Client.SwitchyardClient client, string expected, TimeSpan within)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        string now = "";
        while (sw.Elapsed < within)
        {
            try { now = string.Join(",", (await client.GetNetworkAsync("default")).EffectiveDnsUpstreams ?? []); }
            catch (Switchyard.Client.SwitchyardUnavailableException) { now = "(not up yet)"; }
            if (now == expected) return;
            await Task.Delay(20);
        }
        Assert.Fail($"the daemon asks '{now}', not '{expected}', after {sw.Elapsed}");
    }

    [Fact]
    public void Help_exits_0()
    {
        var r = RunYard("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("network", r.StdOut);
    }
}
