using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// Issue 14's published ports for guests on a joining host (docs/multi-host.md, "Published ports"): two
/// daemons as two hosts (<see cref="TwoHosts"/>), a network spanning both over VXLAN, host A its gateway.
/// Host B's guest has no endpoint on host A, only a lease of its dynamic pool; `yard network publish NET
/// --to HOSTNAME SPEC` on host A forwards a port of host A's loopback through host A's NAT and the tunnel
/// to that guest's HTTP server (python3 -m http.server in its namespace), after host A's daemon restarts
/// too, and no longer once unpublished.
/// </summary>
public sealed class MultiHostPublishTests
{
    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>`curl` from host A's namespace (the test's): its exit code and body.</summary>
    private static Command.Result Curl(string url) =>
        Command.Run("timeout", ["15", "curl", "-sS", "--connect-timeout", "5", "--max-time", "10", url], check: false, timeoutMs: 20_000);

    /// <summary>Retries while the guest's server comes up (or a restarted daemon relearns where the guest is).</summary>
    private static Command.Result CurlUntilOk(string url)
    {
        var sw = Stopwatch.StartNew();
        Command.Result r;
        do
        {
            r = Curl(url);
            if (r.ExitCode == 0) return r;
            Thread.Sleep(200);
        } while (sw.Elapsed < TimeSpan.FromSeconds(30));
        return r;
    }

    [LinuxRootFact]
    public async Task A_port_of_host_A_reaches_a_guest_on_host_B_across_host_A_restarting()
    {
        await using var hosts = await TwoHosts.StartAsync();
        string net = TestDaemon.UniqueName("mhp");
        hosts.CreateGatewayNetwork(net, "nat", "--dns-upstream", "none");
        hosts.CreateJoiningNetwork(net);
        using var b1 = await Guest.AttachAsync(hosts.B.Client, net, "b1");
        string ipB = b1.DhcpAs("bee")["ip"];
        var gateway = (await hosts.A.Client.GetNetworkAsync(net)).Gateway;

        var www = Directory.CreateTempSubdirectory("sy-mhp-www-");
        string token = TestDaemon.UniqueName("hello-from-host-b-");
        File.WriteAllText(Path.Combine(www.FullName, "index.html"), token + "\n");
        int port = FreePort();
        Process? server = null;
        var log = new ConcurrentQueue<string>();
        try
        {
            server = b1.Namespace.StartExec("python3", "-u", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", www.FullName);
            server.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            server.BeginErrorReadLine();
            server.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            server.BeginOutputReadLine();

            // Host B (a joining host) has no NAT to publish with: the refusal says where to do it.
            var there = hosts.CliB.Run(["network", "publish", net, "--to", "bee", $"{port}:8080"], check: false);
            Assert.NotEqual(0, there.ExitCode);
            Assert.Contains("publish on the gateway host", there.StdErr);

            var publish = hosts.CliA.Run(["network", "publish", net, "--to", "bee", $"127.0.0.1:{port}:8080"]);
            Assert.Contains($"published 127.0.0.1:{port}:8080/tcp to remote guest bee, {ipB}", publish.StdOut);
            var page = CurlUntilOk($"http://127.0.0.1:{port}/");
            Assert.True(page.ExitCode == 0, $"curl: {page.ExitCode} {page.StdErr}; server log: {string.Join(" | ", log)}");
            Assert.Equal(token, page.StdOut.Trim());
            // Through host A's NAT: a loopback client appears to the guest as the gateway's address.
            Assert.Contains(log, l => l.StartsWith($"{gateway} ", StringComparison.Ordinal) && l.Contains("GET / "));

            await hosts.A.RestartAsync();

            var shown = TwoHosts.Inspect(hosts.CliA, net).GetProperty("published").EnumerateArray().Single();
            Assert.Equal($"127.0.0.1:{port}:8080/tcp", shown.GetProperty("spec").GetString());
            Assert.Equal(ipB, shown.GetProperty("ipv4").GetString());
            page = CurlUntilOk($"http://127.0.0.1:{port}/");
            Assert.True(page.ExitCode == 0, $"after host A's restart: curl {page.ExitCode} {page.StdErr}; server log: {string.Join(" | ", log)}");
            Assert.Equal(token, page.StdOut.Trim());

            hosts.CliA.Run(["network", "unpublish", net, $"{port}:8080"]);
            Assert.Equal(7, Curl($"http://127.0.0.1:{port}/").ExitCode);   // curl: failed to connect (refused)
            Assert.False(TwoHosts.Inspect(hosts.CliA, net).TryGetProperty("published", out _));
        }
        finally
        {
            if (server is not null)
            {
                if (!server.HasExited) server.Kill();   // the PID this test started (ip netns exec execs python3 itself)
                server.WaitForExit(5_000);
                server.Dispose();
            }
            www.Delete(recursive: true);
        }
    }
}
