using System.Globalization;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>`yard top` (the real yard.dll) against a daemon with a namespace guest that sends traffic:
/// the JSON snapshot, and the live view in a real terminal (tmux) refreshing and quitting on Ctrl-C.</summary>
public sealed class TopTests
{
    private static readonly string YardDll = Path.Combine(AppContext.BaseDirectory, "yard.dll");

    private static Command.Result Yard(TestDaemon daemon, params string[] args) =>
        Command.Run("dotnet", [YardDll, "--socket", daemon.SocketPath, .. args], check: false, timeoutMs: 60_000);

    /// <summary>A network with an allowlist (so a refused flow is logged) and a guest with a lease.</summary>
    private static async Task<(NetworkInfo Net, Guest Guest)> GuestAsync(TestDaemon daemon)
    {
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "top",
            customize: r => r with { Egress = new EgressPolicySpec { Default = "deny" } });
        var guest = await Guest.AttachAsync(daemon.Client, net.Name, "busy");
        guest.Dhcp();
        return (net, guest);
    }

    /// <summary>Pings to the gateway, 20 a second, until disposed: traffic in both directions.</summary>
    private static ChildProcess Traffic(Guest guest, NetworkInfo net) =>
        guest.Namespace.StartServer("ping", "-q", "-i", "0.05", "-w", "120", net.Gateway);

    [LinuxRootFact]
    public async Task Once_json_shows_the_busy_guest_with_its_rates_flows_and_egress_decisions()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var (net, guest) = await GuestAsync(daemon);
        using var _ = guest;
        // Refused by the allowlist (a TCP connect to TEST-NET-1): an egress decision in the audit log.
        guest.TryExec(10_000, "bash", "-c", "echo > /dev/tcp/192.0.2.1/80");
        // A NAT flow that stays open: a connection to the host's loopback through the gateway (not egress).
        using var server = LoopbackHttpServer.Start();
        using var connection = guest.Namespace.StartServer("bash", "-c", $"exec 3<>/dev/tcp/{net.Gateway}/{server.Port}; sleep 120");
        await Eventually.UntilAsync(() => server.Accepted > 0, Bounds.Generous, () => connection.Output);
        using var traffic = Traffic(guest, net);

        var r = Yard(daemon, "top", net.Name, "--once", "--format", "json", "--interval", "1");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var doc = JsonDocument.Parse(r.StdOut);
        Assert.True(doc.RootElement.GetProperty("intervalSeconds").GetDouble() >= 1);
        var n = Assert.Single(doc.RootElement.GetProperty("networks").EnumerateArray());
        Assert.Equal(net.Name, n.GetProperty("name").GetString());
        Assert.Equal("nat", n.GetProperty("mode").GetString());
        Assert.Equal("deny", n.GetProperty("egressPolicy").GetString());
        var ep = Assert.Single(n.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("busy", ep.GetProperty("name").GetString());
        Assert.Equal(guest.Endpoint.Ipv4, ep.GetProperty("ipv4").GetString());
        Assert.Equal(guest.Endpoint.Mac, ep.GetProperty("mac").GetString());
        Assert.Equal("tap", ep.GetProperty("transport").GetString());
        // About 20 echo requests a second in, as many replies out, 98 bytes each: well above 0.
        foreach (var rate in new[] { "bytesInPerSecond", "bytesOutPerSecond", "framesInPerSecond", "framesOutPerSecond" })
            Assert.True(ep.GetProperty(rate).GetDouble() > 5, $"{rate}: {ep}");
        Assert.True(ep.GetProperty("bytesInPerSecond").GetDouble() > 500, ep.ToString());
        Assert.True(n.GetProperty("flowCount").GetInt32() >= 1, n.ToString());
        Assert.Contains(n.GetProperty("flows").EnumerateArray(), f => f.GetProperty("protocol").GetString() == "tcp"
            && f.GetProperty("endpoint").GetString() == "busy" && f.GetProperty("destination").GetString() == $"{net.Gateway}:{server.Port}"
            && f.GetProperty("state").GetString() == "established" && f.GetProperty("guest").GetString()!.StartsWith(guest.Endpoint.Ipv4 + ":", StringComparison.Ordinal));
        var denied = n.GetProperty("egress").EnumerateArray().Where(e => e.GetProperty("verdict").GetString() == "deny").ToList();
        Assert.Contains(denied, e => e.GetProperty("destination").GetString() == "192.0.2.1:80" && e.GetProperty("endpoint").GetString() == "busy");
    }

    [LinuxRootFact]
    public async Task The_live_view_refreshes_in_a_terminal_and_quits_on_ctrl_c()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var (net, guest) = await GuestAsync(daemon);
        using var _ = guest;
        using var tmux = new Tmux(width: 120, height: 40);
        tmux.Run($"dotnet '{YardDll}' --socket '{daemon.SocketPath}' top '{net.Name}' --interval 0.5");

        // The guest's row with rates (after the first refresh): quiet, well under 1 kB/s in.
        await Eventually.UntilAsync(() => InRate(tmux.Screen()) is < 1000, Bounds.Generous, tmux.Screen);
        string quiet = tmux.Screen();
        Assert.Contains($"{net.Name}  nat  {net.Subnet}  1 endpoint", quiet);
        Assert.Contains(guest.Endpoint.Ipv4, quiet);

        using (Traffic(guest, net))
            await Eventually.UntilAsync(() => InRate(tmux.Screen()) is >= 1000, Bounds.Generous, tmux.Screen);

        tmux.SendKeys("C-c");
        await Eventually.UntilAsync(() => tmux.Exited is not null, Bounds.Generous, () => tmux.Screen() + tmux.Describe());
        Assert.Equal(0, tmux.Exited);
        Assert.False(tmux.AlternateScreen, "the terminal was left on the alternate screen");
    }

    /// <summary>The guest's bytes per second in, as the view prints it (1.2k, 512); null before the first rates.</summary>
    private static double? InRate(string screen)
    {
        var row = screen.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).FirstOrDefault(t => t is ["busy", ..]);
        if (row is not [_, var text, ..] || text == "-") return null;
        double scale = text[^1] switch { 'k' => 1e3, 'M' => 1e6, 'G' => 1e9, _ => 1 };
        return double.Parse(scale == 1 ? text : text[..^1], CultureInfo.InvariantCulture) * scale;
    }

    /// <summary>A tmux server of the test's own (its socket in a directory of its own, removed on
    /// Dispose), one detached session whose pane stays after its program exits, so the exit status
    /// and the screen can be read.</summary>
    private sealed class Tmux : IDisposable
    {
        private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sy-tmux-");
        private string Socket => Path.Combine(_directory.FullName, "tmux.sock");

        public Tmux(int width, int height)
        {
            Command.Run("tmux", ["-S", Socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", width.ToString(CultureInfo.InvariantCulture),
                "-y", height.ToString(CultureInfo.InvariantCulture)]);
            Command.Run("tmux", ["-S", Socket, "set-option", "-t", "t", "remain-on-exit", "on"]);
        }

        /// <summary>Runs <paramref name="command"/> (sh syntax) in the pane; its exit status goes to a file:
        /// tmux 3.3's #{pane_dead_status} is sometimes empty after a clean exit.</summary>
        public void Run(string command)
        {
            string script = Path.Combine(_directory.FullName, "run.sh");
            // The shell shares the program's process group, so Ctrl-C's SIGINT reaches it too: a trap
            // (reset to the default in the program on exec) keeps it alive to write the status.
            File.WriteAllText(script, $"trap : INT\n{command}\necho $? > '{ExitFile}'\n");
            Command.Run("tmux", ["-S", Socket, "respawn-pane", "-k", "-t", "t", $"sh '{script}'"]);
        }

        private string ExitFile => Path.Combine(_directory.FullName, "exit");

        public void SendKeys(string keys) => Command.Run("tmux", ["-S", Socket, "send-keys", "-t", "t", keys]);

        public string Screen() => Command.Run("tmux", ["-S", Socket, "capture-pane", "-p", "-t", "t"]).StdOut;

        private string Format(string format) => Command.Run("tmux", ["-S", Socket, "display-message", "-p", "-t", "t", format]).StdOut.Trim();

        /// <summary>The program's exit status once it has exited (null while it runs; 128 + N when signal N killed it).</summary>
        public int? Exited => File.Exists(ExitFile) && int.TryParse(File.ReadAllText(ExitFile).Trim(), out var status) ? status : null;

        public bool AlternateScreen => Format("#{alternate_on}") == "1";

        public string Describe() => Format("dead=#{pane_dead} alternate=#{alternate_on}") + $" exit={Exited}";

        public void Dispose()
        {
            Command.Run("tmux", ["-S", Socket, "kill-server"], check: false);
            try { _directory.Delete(recursive: true); } catch (IOException) { }
        }
    }
}
