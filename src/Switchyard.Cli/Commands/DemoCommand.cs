using System.CommandLine;
using System.Diagnostics;
using Switchyard.Client;
using Switchyard.Daemon;

namespace Switchyard.Cli.Commands;

/// <summary><c>yard demo</c>: a daemon on embedded defaults in a temporary state directory, a
/// network, two namespace guests that get DHCP leases and reach each other by name. Linux,
/// root, iproute2, busybox (udhcpc) and iputils ping. Everything it makes is removed at the end.</summary>
internal static class DemoCommand
{
    public static Command Build()
    {
        var keep = new Option<bool>("--keep") { Description = "Leave the daemon and guests running until Ctrl+C" };
        var cmd = new Command("demo", "Show Switchyard working: a network, two guests, DHCP leases, DNS names, ping") { keep };
        cmd.SetAction((parse, ct) => RunAsync(parse.GetValue(keep), ct));
        return cmd;
    }

    private static async Task<int> RunAsync(bool keep, CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux()) return Output.Error("the demo uses Linux network namespaces; on macOS attach a VM over a socket instead");
        if (Environment.UserName != "root") return Output.Error("the demo creates network namespaces and needs root (sudo ./yard demo)");
        foreach (var tool in (string[])["ip", "busybox", "ping"])
            if (Which(tool) is null) return Output.Error($"the demo needs '{tool}': apt-get install iproute2 busybox iputils-ping");

        string id = Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next()))[..6].ToLowerInvariant();
        string dir = Directory.CreateTempSubdirectory("yard-demo-").FullName;
        string socket = Path.Combine(dir, "yard.sock");
        string[] guests = ["alpha", "beta"];
        var namespaces = guests.Select(g => $"yard-demo-{id}-{g}").ToArray();
        // The "outside": a namespace behind a host veth in the benchmarking range (RFC 2544's 198.18/15,
        // on no real network), serving one page with busybox httpd. Guests reach it only through the NAT.
        string outsideNs = $"yard-demo-{id}-out", hostVeth = $"yd{id}o";
        string outsideNet = $"198.18.{Random.Shared.Next(0, 256)}", outsideIp = $"{outsideNet}.2";
        System.Diagnostics.Process? httpd = null;
        Step($"Starting a daemon (state in {dir})");
        // The read-only dashboard and /metrics on a free loopback port: the demo prints where.
        var app = DaemonHost.Build(new DaemonOptions
        {
            StateDirectory = dir, SocketPath = socket, HttpListen = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0),
        });
        await app.StartAsync(ct);
        using var client = new SwitchyardClient(socket);
        try
        {
            // No upstream resolver: the demo's guests only look up each other, and nothing leaves this machine.
            var net = await client.CreateNetworkAsync(new NetworkCreateRequest { Name = "demo", DnsUpstreams = ["none"] }, ct);
            Step($"Created network '{net.Name}': {net.Subnet}, gateway {net.Gateway}, domain {net.Domain}");
            string script = Path.Combine(dir, "udhcpc.script");
            File.WriteAllText(script, UdhcpcScript);
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            for (int i = 0; i < guests.Length; i++)
            {
                Run("ip", "netns", "add", namespaces[i]);
                var ep = await client.AttachEndpointAsync("demo", new EndpointAttachRequest
                {
                    Name = guests[i],
                    Transport = new TransportSpec { Kind = "tap", Netns = namespaces[i] },
                }, ct);
                Step($"Attached '{ep.Name}' in namespace {namespaces[i]} as eth0 ({ep.Mac})");
            }
            foreach (var ns in namespaces)
            {
                Step($"[{ns}] busybox udhcpc -i eth0");
                Run("ip", "netns", "exec", ns, "env", $"YARD_NETNS={ns}", "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", script);
            }
            Step("Leases:");
            Output.Table(["ENDPOINT", "IPV4", "MAC", "STATE", "EXPIRES"],
                (await client.ListLeasesAsync("demo", ct)).Select(l => (IReadOnlyList<string>)[l.Endpoint, l.Ipv4, l.Mac, l.State, l.Expires?.ToLocalTime().ToString("T") ?? "-"]));
            Step($"[{namespaces[0]}] ping -c 3 beta   (resolved by the gateway's DNS through search domain {net.Domain})");
            Run("ip", "netns", "exec", namespaces[0], "ping", "-c", "3", "-i", "0.2", "beta");
            Step($"[{namespaces[1]}] ping -c 3 alpha.{net.Domain}");
            Run("ip", "netns", "exec", namespaces[1], "ping", "-c", "3", "-i", "0.2", $"alpha.{net.Domain}");
            Step($"[{namespaces[1]}] ping -c 1 gateway");
            Run("ip", "netns", "exec", namespaces[1], "ping", "-c", "1", "gateway");

            Step($"Outside: namespace {outsideNs} at {outsideIp}, behind host veth {hostVeth}, serving a page");
            httpd = StartOutside(dir, outsideNs, hostVeth, outsideNet);
            var sampler = new Top.TopSampler(client, "demo", TimeProvider.System);
            var before = await sampler.SampleAsync(ct);
            Step($"[{namespaces[0]}] busybox wget -O- http://{outsideIp}/   (through the NAT: a host socket of the daemon)");
            Run("ip", "netns", "exec", namespaces[0], "busybox", "wget", "-O", "-", $"http://{outsideIp}/");
            Step("What the network saw meanwhile (yard top demo --once):");
            foreach (var line in Top.TopRenderer.Render(Top.TopRates.Build(before, await sampler.SampleAsync(ct)), 100)) Console.WriteLine(line);
            var http = DaemonHost.HttpListenAddress(app);
            if (keep)
            {
                Step($"Dashboard: http://{http}/   Prometheus metrics: http://{http}/metrics");
                Step($"Running; try: YARD_SOCKET={socket} ./yard top   (Ctrl+C ends the demo)");
                try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
            }
            Step("Demo finished: cleaning up");
            return 0;
        }
        catch (Exception e) when (e is SwitchyardApiException or DemoStepException)
        {
            return Output.Error($"demo failed: {e.Message}");
        }
        finally
        {
            if (httpd is not null) { try { httpd.Kill(); httpd.WaitForExit(2000); } catch (InvalidOperationException) { } httpd.Dispose(); }
            Run("ip", ["link", "del", hostVeth], check: false, quiet: true);
            Run("ip", ["netns", "del", outsideNs], check: false, quiet: true);
            foreach (var g in guests)
                try { await client.DetachEndpointAsync("demo", g, CancellationToken.None); } catch (SwitchyardApiException) { }
            foreach (var ns in namespaces)
            {
                Run("ip", ["netns", "del", ns], check: false, quiet: true);
                try { Directory.Delete(Path.Combine("/etc/netns", ns), recursive: true); } catch (IOException) { }
            }
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Makes the outside namespace, its veth to the host (.1 on the host, .2 inside, a /30)
    /// and its web server; returns the server's process (ended by the caller).</summary>
    private static System.Diagnostics.Process StartOutside(string dir, string ns, string hostVeth, string net)
    {
        string www = Path.Combine(dir, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), $"Hello from the outside ({net}.2), reached through Switchyard's NAT.\n");
        Run("ip", "netns", "add", ns);
        Run("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Run("ip", "addr", "add", $"{net}.1/30", "dev", hostVeth);
        Run("ip", "link", "set", hostVeth, "up");
        Run("ip", "-n", ns, "addr", "add", $"{net}.2/30", "dev", "eth0");
        Run("ip", "-n", ns, "link", "set", "eth0", "up");
        Run("ip", "-n", ns, "link", "set", "lo", "up");
        var httpd = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip",
            ["netns", "exec", ns, "busybox", "httpd", "-f", "-p", $"{net}.2:80", "-h", www])
            { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new DemoStepException("could not start busybox httpd");
        // Ready when it answers (asked from inside its namespace, so nothing else is involved). Busybox's
        // static wget crashes with -q or -T on Debian 12; Run's own timeout bounds it instead.
        for (int i = 0; i < 50; i++)
        {
            if (Run("ip", ["netns", "exec", ns, "busybox", "wget", "-O", "/dev/null", $"http://{net}.2/"], check: false, quiet: true) == 0) return httpd;
            Thread.Sleep(100);
        }
        httpd.Kill();
        httpd.Dispose();
        throw new DemoStepException("the outside web server did not start");
    }

    /// <summary>Guest/udhcpc.script: configures the link and the namespace's resolv.conf.</summary>
    private static string UdhcpcScript
    {
        get
        {
            using var stream = typeof(DemoCommand).Assembly.GetManifestResourceStream("udhcpc.script")!;
            return new StreamReader(stream).ReadToEnd();
        }
    }

    private static void Step(string text) => Console.WriteLine($"==> {text}");

    private sealed class DemoStepException(string message) : Exception(message);

    private static void Run(string file, params string[] args) => Run(file, args, check: true, quiet: false);

    private static int Run(string file, string[] args, bool check, bool quiet)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = quiet, RedirectStandardOutput = quiet };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        if (!p.WaitForExit(TimeSpan.FromSeconds(30))) { p.Kill(true); throw new DemoStepException($"'{file} {string.Join(' ', args)}' timed out"); }
        if (check && p.ExitCode != 0) throw new DemoStepException($"'{file} {string.Join(' ', args)}' exited with {p.ExitCode}");
        return p.ExitCode;
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
}
