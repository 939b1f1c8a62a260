using System.Diagnostics;
using System.Text.Json;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>Issue 12's housekeeping through the real `yard` binary against a daemon of its own:
/// labels on attach, --filter on the listings, and network prune (its confirmation on a real
/// terminal, made by script(1), its refusal without one, and --force).</summary>
public sealed class HousekeepingCliTests
{
    private static readonly string YardDll = Path.Combine(AppContext.BaseDirectory, "yard.dll");

    /// <summary>yard with stdin a closed pipe: no terminal, as in a script.</summary>
    private static Command.Result Yard(TestDaemon daemon, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in (string[])[YardDll, "--socket", daemon.SocketPath, .. args]) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"yard {string.Join(' ', args)} did not exit within 30 s");
        }
        process.WaitForExit();
        return new Command.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>yard on a pseudo-terminal (script(1)), answering <paramref name="answer"/> to whatever it asks.</summary>
    private static Command.Result YardOnTerminal(TestDaemon daemon, string answer, params string[] args)
    {
        string line = string.Join(' ', ((string[])["dotnet", YardDll, "--socket", daemon.SocketPath, .. args]).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        return Command.Run("sh", ["-c", $"printf '{answer}\\n' | script -qec \"$0\" /dev/null", line], check: false, timeoutMs: 30_000);
    }

    private static List<string> Names(Command.Result r, params string[] fields)
    {
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var doc = JsonDocument.Parse(r.StdOut);
        return doc.RootElement.EnumerateArray().Select(e => string.Join("/", fields.Select(f => e.GetProperty(f).GetString()))).Order().ToList();
    }

    private static void AssertOneErrorLine(Command.Result r, string contains)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 1 && lines[0].Contains(contains, StringComparison.Ordinal), $"stderr: {r.StdErr}");
        Assert.Equal("", r.StdOut);
    }

    [LinuxRootFact]
    public async Task Labels_filters_and_prune_through_the_cli()
    {
        await using var daemon = await TestDaemon.StartAsync();
        using var ns = TestNamespace.Create("sy-house");
        string octet = Random.Shared.Next(0, 250).ToString();
        string labA = TestDaemon.UniqueName("laba"), labB = TestDaemon.UniqueName("labb"), busy = TestDaemon.UniqueName("busy");
        // --allow-host-subnet: nothing here routes to these subnets, and another test's host route must not fail it.
        void Create(string name, int third, params string[] more)
        {
            var r = Yard(daemon, ["network", "create", name, "--subnet", $"10.{250 + third}.{octet}.0/24", "--dns-upstream", "none", "--allow-host-subnet", .. more]);
            Assert.True(r.ExitCode == 0, r.StdErr);
        }
        Create(labA, 0, "--label", "team=lab");
        Create(labB, 1, "--mode", "internal", "--label", "team=lab", "--label", "tier=db");
        Create(busy, 2, "--label", "team=prod");

        // Labels on attach: a real TAP in a namespace, and a datagram socket.
        var web = Yard(daemon, "endpoint", "attach", busy, "web", "--netns", ns.Name, "--label", "role=web", "--label", "owner=ci", "--format", "json");
        Assert.True(web.ExitCode == 0, web.StdErr);
        using (var doc = JsonDocument.Parse(web.StdOut))
            Assert.Equal("web", doc.RootElement.GetProperty("labels").GetProperty("role").GetString());
        var vm = Yard(daemon, "endpoint", "attach", busy, "vm", "--dgram-listen", Path.Combine(daemon.Directory, "vm.sock"), "--label", "role=db");
        Assert.True(vm.ExitCode == 0, vm.StdErr);
        AssertOneErrorLine(Yard(daemon, "endpoint", "attach", busy, "bad", "--dgram-listen", Path.Combine(daemon.Directory, "bad.sock"), "--label", "has space=x"),
            "invalid label key 'has space'");
        Assert.DoesNotContain(await daemon.Client.ListEndpointsAsync(busy), e => e.Name == "bad");

        // network ls --filter: labels AND, one key's terms OR, keys AND.
        Assert.Equal([labA, labB], Names(Yard(daemon, "network", "ls", "--filter", "label=team=lab", "--format", "json"), "name"));
        Assert.Equal([labB], Names(Yard(daemon, "network", "ls", "--filter", "label=team=lab", "--filter", "label=tier", "--format", "json"), "name"));
        Assert.Equal([labB], Names(Yard(daemon, "network", "ls", "-f", "mode=internal", "-f", "mode=host", "--format", "json"), "name"));
        Assert.Equal(new[] { busy, "default", labA }.Order().ToList(), Names(Yard(daemon, "network", "ls", "-f", "mode=nat", "--format", "json"), "name"));
        var table = Yard(daemon, "network", "ls", "--filter", $"name={labA}");
        Assert.True(table.ExitCode == 0, table.StdErr);
        Assert.Contains(labA, table.StdOut);
        Assert.DoesNotContain(labB, table.StdOut);
        var usage = Yard(daemon, "network", "ls", "--filter", "driver=bridge");   // a usage error: the message, then the help
        Assert.NotEqual(0, usage.ExitCode);
        Assert.Contains("--filter: unknown filter 'driver': filters are label, mode, name", usage.StdErr);

        // endpoint ls --filter.
        Assert.Equal([$"{busy}/web"], Names(Yard(daemon, "endpoint", "ls", "--filter", "label=role=web", "--format", "json"), "network", "name"));
        Assert.Equal([$"{busy}/vm", $"{busy}/web"], Names(Yard(daemon, "endpoint", "ls", "--filter", $"network={busy}", "--format", "json"), "network", "name"));
        Assert.Equal([$"{busy}/web"], Names(Yard(daemon, "endpoint", "ls", "--filter", $"network={busy}", "--filter", "label=owner", "--format", "json"), "network", "name"));
        Assert.Empty(Names(Yard(daemon, "endpoint", "ls", "--filter", $"network={labA}", "--format", "json"), "name"));
        Assert.Equal([$"{busy}/vm"], Names(Yard(daemon, "endpoint", "ls", busy, "-f", "label=role=db", "--format", "json"), "network", "name"));

        // prune without a terminal refuses, and removes nothing.
        AssertOneErrorLine(Yard(daemon, "network", "prune"), "give --force");
        Assert.Equal(4, (await daemon.Client.ListNetworksAsync()).Count);

        // On a terminal it asks: No keeps everything, yes removes what the filter names.
        var declined = YardOnTerminal(daemon, "n", "network", "prune", "--filter", $"name={labA}");
        Assert.NotEqual(0, declined.ExitCode);
        Assert.Contains("Are you sure you want to continue? [y/N]", declined.StdOut);
        Assert.Equal(4, (await daemon.Client.ListNetworksAsync()).Count);
        var confirmed = YardOnTerminal(daemon, "y", "network", "prune", "--filter", $"name={labA}");
        Assert.True(confirmed.ExitCode == 0, confirmed.StdOut + confirmed.StdErr);
        Assert.Contains($"Removed networks:", confirmed.StdOut);
        Assert.Contains(labA, confirmed.StdOut);
        Assert.DoesNotContain(await daemon.Client.ListNetworksAsync(), n => n.Name == labA);

        // --force: the networks without endpoints that match go; the busy one stays whatever its labels.
        var forced = Yard(daemon, "network", "prune", "--force", "--filter", "label=team=lab", "--format", "json");
        Assert.True(forced.ExitCode == 0, forced.StdErr);
        using (var doc = JsonDocument.Parse(forced.StdOut))
            Assert.Equal([labB], doc.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal([busy, "default"], (await daemon.Client.ListNetworksAsync()).Select(n => n.Name).Order());
        var again = Yard(daemon, "network", "prune", "-f");
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Equal("No networks to remove\n", again.StdOut);
    }
}
