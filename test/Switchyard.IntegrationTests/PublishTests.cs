using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>Published ports with a real guest: a namespace on a nat network runs a small HTTP
/// server (python3 -m http.server); the host reaches it through the published port, after a daemon
/// restart too, and not once it is unpublished. Clients from another address are seen by the guest
/// with their own address.</summary>
public sealed class PublishTests
{
    private static Command.Result Yard(TestDaemon daemon, params string[] args) =>
        Command.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "yard.dll"), "--socket", daemon.SocketPath, .. args], check: false, timeoutMs: 30_000);

    private static int FreePort(IPAddress address)
    {
        using var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>`curl` from the host (or from a namespace); its exit code and body.</summary>
    private static Command.Result Curl(string url, string? netns = null)
    {
        string[] curl = ["curl", "-sS", "--connect-timeout", "5", "--max-time", "10", url];
        return netns is null
            ? Command.Run("timeout", ["15", .. curl], check: false, timeoutMs: 20_000)
            : Command.Run("timeout", ["15", "ip", "netns", "exec", netns, .. curl], check: false, timeoutMs: 20_000);
    }

    /// <summary>Retries while the server in the guest comes up (or a restarted daemon settles).</summary>
    private static Command.Result CurlUntilOk(string url, string? netns = null)
    {
        var sw = Stopwatch.StartNew();
        Command.Result r;
        do
        {
            r = Curl(url, netns);
            if (r.ExitCode == 0) return r;
            Thread.Sleep(200);
        } while (sw.Elapsed < TimeSpan.FromSeconds(20));
        return r;
    }

    /// <summary>The server logs a request as it answers; its line may come a moment after curl's exit.</summary>
    private static async Task UntilLogged(ConcurrentQueue<string> log)
    {
        var sw = Stopwatch.StartNew();
        while (!log.Any(l => l.Contains("GET / ")) && sw.Elapsed < Bounds.Generous) await Task.Delay(50);
    }

    [LinuxRootFact]
    public async Task A_published_port_reaches_the_guest_across_a_restart_and_closes_on_unpublish()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "pub");
        using var ns = TestNamespace.Create("sy-pub");
        var www = Directory.CreateTempSubdirectory("sy-pub-www-");
        string token = TestDaemon.UniqueName("hello-from-the-guest-");
        File.WriteAllText(Path.Combine(www.FullName, "index.html"), token + "\n");
        int port = FreePort(IPAddress.Loopback);
        Process? server = null;
        var log = new ConcurrentQueue<string>();
        try
        {
            var attach = Yard(daemon, "endpoint", "attach", net.Name, "web", "--netns", ns.Name, "--configure", "--publish", $"127.0.0.1:{port}:8080");
            Assert.True(attach.ExitCode == 0, attach.StdErr);
            Assert.Contains($"published 127.0.0.1:{port}:8080/tcp", attach.StdOut);
            Assert.Equal([$"127.0.0.1:{port}:8080/tcp"], (await daemon.Client.GetEndpointAsync(net.Name, "web")).Published);

            server = ns.StartExec("python3", "-u", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", www.FullName);
            server.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            server.BeginErrorReadLine();
            server.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            server.BeginOutputReadLine();

            var page = CurlUntilOk($"http://127.0.0.1:{port}/");
            Assert.True(page.ExitCode == 0, $"curl: {page.ExitCode} {page.StdErr}; server log: {string.Join(" | ", log)}");
            Assert.Equal(token, page.StdOut.Trim());
            // A loopback client cannot be the source of a packet to the guest: it appears as the gateway.
            await UntilLogged(log);
            Assert.Contains(log, l => l.StartsWith($"{net.Gateway} ", StringComparison.Ordinal) && l.Contains("GET / "));
            var counters = await daemon.Client.GetNetworkAsync(net.Name);
            Assert.NotNull(counters.Nat);

            await daemon.RestartAsync();

            Assert.Equal([$"127.0.0.1:{port}:8080/tcp"], (await daemon.Client.GetEndpointAsync(net.Name, "web")).Published);
            page = CurlUntilOk($"http://127.0.0.1:{port}/");
            Assert.True(page.ExitCode == 0, $"after restart: curl {page.ExitCode} {page.StdErr}");
            Assert.Equal(token, page.StdOut.Trim());

            var unpublish = Yard(daemon, "endpoint", "unpublish", net.Name, "web", $"127.0.0.1:{port}:8080");
            Assert.True(unpublish.ExitCode == 0, unpublish.StdErr);
            var refused = Curl($"http://127.0.0.1:{port}/");
            Assert.Equal(7, refused.ExitCode); // curl: failed to connect (refused)
            Assert.Empty((await daemon.Client.GetEndpointAsync(net.Name, "web")).Published!);

            // Publishing again at run time needs no restart of anything.
            var publish = Yard(daemon, "endpoint", "publish", net.Name, "web", $"{port}:8080");
            Assert.True(publish.ExitCode == 0, publish.StdErr);
            Assert.Equal(token, CurlUntilOk($"http://127.0.0.1:{port}/").StdOut.Trim());
        }
        finally
        {
            if (server is not null)
            {
                if (!server.HasExited) server.Kill();   // the PID this test started (ip netns exec execs python3 itself)
                server.WaitForExit(5_000);
                server.Dispose();
            }
            try { await daemon.Client.DetachEndpointAsync(net.Name, "web"); } catch (Switchyard.Client.SwitchyardApiException) { }
            www.Delete(recursive: true);
        }
    }

    [LinuxRootFact]
    public async Task The_guest_sees_a_remote_clients_real_address()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "pubr");
        using var guest = TestNamespace.Create("sy-pubg");
        using var client = TestNamespace.Create("sy-pubc");
        // A veth from the host to the client's namespace: host 10.249.N.1/30, client 10.249.N.2/30.
        int n = Random.Shared.Next(0, 256);
        while (net.Subnet.StartsWith($"10.249.{n}.", StringComparison.Ordinal)) n = Random.Shared.Next(0, 256);
        string hostIp = $"10.249.{n}.1", clientIp = $"10.249.{n}.2";
        string veth = TestDaemon.UniqueName("syp");
        var www = Directory.CreateTempSubdirectory("sy-pub-www-");
        File.WriteAllText(Path.Combine(www.FullName, "index.html"), "remote\n");
        Process? server = null;
        var log = new ConcurrentQueue<string>();
        try
        {
            Command.Run("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", client.Name]);
            Command.Run("ip", ["addr", "add", $"{hostIp}/30", "dev", veth]);
            Command.Run("ip", ["link", "set", veth, "up"]);
            client.Ip("addr", "add", $"{clientIp}/30", "dev", "eth0");
            client.Ip("link", "set", "eth0", "up");
            int port = FreePort(IPAddress.Parse(hostIp));

            await daemon.Client.AttachEndpointAsync(net.Name, new Switchyard.Client.EndpointAttachRequest
            {
                Name = "web",
                Transport = new Switchyard.Client.TransportSpec { Kind = "tap", Netns = guest.Name, Configure = true },
                Publish = [$"{hostIp}:{port}:8080"],
            });
            server = guest.StartExec("python3", "-u", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", www.FullName);
            server.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            server.BeginErrorReadLine();
            server.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            server.BeginOutputReadLine();

            var page = CurlUntilOk($"http://{hostIp}:{port}/", client.Name);
            Assert.True(page.ExitCode == 0, $"curl: {page.ExitCode} {page.StdErr}; server log: {string.Join(" | ", log)}");
            Assert.Equal("remote", page.StdOut.Trim());
            await UntilLogged(log);
            Assert.Contains(log, l => l.StartsWith($"{clientIp} ", StringComparison.Ordinal) && l.Contains("GET / "));
        }
        finally
        {
            if (server is not null)
            {
                if (!server.HasExited) server.Kill();
                server.WaitForExit(5_000);
                server.Dispose();
            }
            try { await daemon.Client.DetachEndpointAsync(net.Name, "web"); } catch (Switchyard.Client.SwitchyardApiException) { }
            Command.Run("ip", ["link", "del", veth], check: false);   // its peer goes with it
            www.Delete(recursive: true);
        }
    }
}
