using System.Net;
using Microsoft.AspNetCore.Builder;
using Switchyard.Client;
using Switchyard.Daemon;

namespace Switchyard.Testing;

/// <summary>
/// An in-process daemon on a temporary state directory with its API socket in that directory. <see cref="RestartAsync"/>
/// stops it and starts a new one on the same state (persistent TAPs are re-attached). Dispose detaches every endpoint
/// (so no persistent TAP outlives the test), stops the daemon and deletes the directory.
/// </summary>
public sealed class TestDaemon : IAsyncDisposable
{
    private WebApplication? _app;

    private readonly bool _httpListen;
    private readonly string? _socketGroup;

    private TestDaemon(string directory, string? resolvConf, bool httpListen, string? socketGroup = null)
    {
        _httpListen = httpListen;
        _socketGroup = socketGroup;
        Directory = directory;
        ResolvConfPath = resolvConf ?? System.IO.Path.Combine(directory, "resolv.conf");
        SocketPath = System.IO.Path.Combine(directory, "yard.sock");
        Client = new SwitchyardClient(SocketPath);
    }

    public string Directory { get; }
    public string StateDirectory => System.IO.Path.Combine(Directory, "state");
    public string SocketPath { get; }
    /// <summary>The daemon's <c>--resolv-conf</c>: by default an empty file in <see cref="Directory"/>.</summary>
    public string ResolvConfPath { get; }
    public SwitchyardClient Client { get; }
    public WebApplication App => _app ?? throw new InvalidOperationException("the daemon is stopped");

    /// <summary>The read-only TCP listener's address (a free loopback port, new after each restart);
    /// only when started with <c>httpListen: true</c>.</summary>
    public IPEndPoint HttpListenAddress => DaemonHost.HttpListenAddress(App) ?? throw new InvalidOperationException("started without httpListen");

    /// <param name="resolvConf">The host resolver file the daemon follows (need not exist); default:
    /// an empty one of its own, so nothing a test creates ever falls back to the host's resolvers.</param>
    /// <param name="httpListen">Also start <c>--http-listen</c> on 127.0.0.1 with a free port (<see cref="HttpListenAddress"/>).</param>
    /// <param name="socketGroup">The daemon's <c>--group</c>: its socket is then 0660 for that group (a name or a gid),
    /// and the test's directory is made passable (0711) so that group's members can reach it.</param>
    public static async Task<TestDaemon> StartAsync(string? resolvConf = null, bool httpListen = false, string? socketGroup = null)
    {
        var daemon = new TestDaemon(System.IO.Directory.CreateTempSubdirectory("sy-itest-").FullName, resolvConf, httpListen, socketGroup);
        if (socketGroup is not null && !OperatingSystem.IsWindows())
            File.SetUnixFileMode(daemon.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        try { await daemon.StartAppAsync(); }
        catch { await daemon.DisposeAsync(); throw; }
        return daemon;
    }

    private async Task StartAppAsync()
    {
        // An empty resolv.conf: nothing a test creates may ever fall back to the host's resolvers.
        string ownResolv = System.IO.Path.Combine(Directory, "resolv.conf");
        if (ResolvConfPath == ownResolv && !File.Exists(ownResolv)) File.WriteAllText(ownResolv, "");
        _app = DaemonHost.Build(new DaemonOptions
        {
            StateDirectory = StateDirectory, SocketPath = SocketPath, ResolvConfPath = ResolvConfPath, SocketGroup = _socketGroup,
            HttpListen = _httpListen ? new IPEndPoint(IPAddress.Loopback, 0) : null,
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StartAsync(cts.Token);
    }

    public async Task StopAsync()
    {
        if (_app is not { } app) return;
        _app = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StopAsync(cts.Token);
        await app.DisposeAsync();
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAppAsync();
    }

    /// <summary>Creates a network with a unique name on a random 10.2xx.y.0/24, retrying on a subnet conflict (409).
    /// <paramref name="customize"/> sets whatever else the request should say (mode, options).</summary>
    public async Task<NetworkInfo> CreateNetworkAsync(IReadOnlyList<string> dnsUpstreams, int? mtu = null, string prefix = "n",
        Func<NetworkCreateRequest, NetworkCreateRequest>? customize = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            string subnet = $"10.{Random.Shared.Next(200, 256)}.{Random.Shared.Next(0, 256)}.0/24";
            try
            {
                var request = new NetworkCreateRequest
                {
                    Name = UniqueName(prefix),
                    Subnet = subnet,
                    Mtu = mtu,
                    DnsUpstreams = dnsUpstreams,
                };
                return await Client.CreateNetworkAsync(customize is null ? request : customize(request));
            }
            catch (SwitchyardApiException e) when (e.StatusCode == HttpStatusCode.Conflict && attempt < 10) { }
        }
    }

    public static string UniqueName(string prefix) => $"{prefix}{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await DaemonTeardown.DetachAllAsync(Client);
            await StopAsync();
        }
        Client.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
