using Switchyard.Client;

namespace Switchyard.Testing;

/// <summary>
/// A daemon as another host would run it: `yard daemon` (yard.dll, JIT) as a child process inside a
/// network namespace of its own (`ip netns exec HOST dotnet yard.dll daemon ...`), so every socket it
/// opens (its VXLAN port above all) lives in that namespace and reaches the test's host only through
/// whatever link the test made (<see cref="TwoHosts"/>: a veth underlay). Its API socket is a path
/// in a temporary directory, which the test's namespace reaches like any file. Its own state
/// directory and an empty resolv.conf, as <see cref="TestDaemon"/>. <see cref="RestartAsync"/> stops
/// it with SIGTERM (by PID) and starts it again on the same state: another host's daemon restarting.
/// Dispose detaches every endpoint, stops it and deletes the directory (not the namespace: its owner's).
/// </summary>
public sealed class NamespacedDaemon : IAsyncDisposable
{
    private ChildProcess? _process;
    private string _lastOutput = "";

    private NamespacedDaemon(string netns, string directory)
    {
        Netns = netns;
        Directory = directory;
        SocketPath = Path.Combine(directory, "yard.sock");
        Client = new SwitchyardClient(SocketPath);
        Cli = new YardCli(SocketPath);
    }

    public string Netns { get; }
    public string Directory { get; }
    public string StateDirectory => Path.Combine(Directory, "state");
    public string SocketPath { get; }
    public SwitchyardClient Client { get; }
    public YardCli Cli { get; }
    public int Pid => (_process ?? throw new InvalidOperationException("the daemon is stopped")).Pid;

    /// <summary>What the daemon printed so far (its current run, or the last one once stopped): for failure messages.</summary>
    public string Output => _process?.Output ?? _lastOutput;

    public static async Task<NamespacedDaemon> StartAsync(string netns)
    {
        var daemon = new NamespacedDaemon(netns, System.IO.Directory.CreateTempSubdirectory("sy-host-").FullName);
        File.WriteAllText(Path.Combine(daemon.Directory, "resolv.conf"), "");
        try { await daemon.StartProcessAsync(); }
        catch { await daemon.DisposeAsync(); throw; }
        return daemon;
    }

    private async Task StartProcessAsync()
    {
        if (!File.Exists(YardCli.Dll)) throw new InvalidOperationException($"{YardCli.Dll} is missing: the test project must reference Switchyard.Cli");
        File.Delete(SocketPath);
        _process = ChildProcess.Start("ip", ["netns", "exec", Netns, "dotnet", YardCli.Dll, "daemon",
            "--state-dir", StateDirectory, "--socket", SocketPath, "--resolv-conf", Path.Combine(Directory, "resolv.conf")]);
        var process = _process;
        // Up once the API answers (the socket file alone may predate the listener's accept loop).
        await Eventually.UntilAsync(async () =>
        {
            process.ThrowIfExited();
            if (!File.Exists(SocketPath)) return false;
            try { await Client.GetVersionAsync(); return true; }
            catch (Exception e) when (e is SwitchyardUnavailableException or HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), () => $"the daemon in {Netns} does not answer on {SocketPath}: {process.Output.Trim()}");
    }

    /// <summary>SIGTERM (the daemon's orderly shutdown, as systemd stops it) by PID; SIGKILL if it has not
    /// exited within 30 s.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process) return;
        _process = null;
        try
        {
            if (!process.HasExited)
            {
                Command.Run("kill", ["-TERM", process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], check: false);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (!process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
            }
        }
        finally
        {
            _lastOutput = process.Output;
            process.Dispose(); // SIGKILL by PID if it is still running
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartProcessAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await DaemonTeardown.DetachAllAsync(Client);
            await StopAsync();
        }
        Client.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
