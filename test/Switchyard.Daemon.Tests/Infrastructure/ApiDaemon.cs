using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Switchyard.Client;

namespace Switchyard.Daemon.Tests.Infrastructure;

/// <summary>An in-process daemon on a temporary state directory and socket (/tmp/yard-test-XXXX).
/// <see cref="RestartAsync"/> stops it and starts a new one on the same state directory.</summary>
public sealed class ApiDaemon : IAsyncLifetime, IAsyncDisposable
{
    private WebApplication? _app;
    private readonly bool _ownsDirectory;

    public ApiDaemon() : this(null) { }

    /// <summary>A daemon on an existing state directory, which the caller deletes.</summary>
    public static ApiDaemon OnDirectory(string stateDirectory) => new(stateDirectory);

    private ApiDaemon(string? stateDirectory)
    {
        _ownsDirectory = stateDirectory is null;
        StateDirectory = stateDirectory ?? Directory.CreateTempSubdirectory("yard-test-").FullName;
        SocketPath = Path.Combine(StateDirectory, "yard.sock");
        ResolvConf = Path.Combine(StateDirectory, "resolv.conf");
        File.WriteAllText(ResolvConf, "nameserver 127.0.0.53\n");
        Client = new SwitchyardClient(SocketPath);
        Raw = CreateRawClient(SocketPath);
    }

    public string StateDirectory { get; }
    public string SocketPath { get; }
    public string ResolvConf { get; }
    public SwitchyardClient Client { get; }
    /// <summary>A plain HttpClient on the socket, for requests the typed client cannot make.</summary>
    public HttpClient Raw { get; }

    /// <summary>Every test daemon also has the read-only TCP listener, on a free loopback port.</summary>
    public DaemonOptions Options => new()
    {
        StateDirectory = StateDirectory, SocketPath = SocketPath, ResolvConfPath = ResolvConf,
        HttpListen = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0),
    };

    /// <summary>The running daemon's control plane (for what only the data plane can bring about, e.g. a
    /// DHCP lease of a guest behind a tunnel).</summary>
    internal Switchyard.Daemon.Control.ControlPlane Plane =>
        (Switchyard.Daemon.Control.ControlPlane)(_app ?? throw new InvalidOperationException("the daemon is stopped")).Services.GetService(typeof(Switchyard.Daemon.Control.ControlPlane))!;

    /// <summary>Where <c>--http-listen</c> is bound while the daemon runs.</summary>
    public System.Net.IPEndPoint HttpListenAddress =>
        DaemonHost.HttpListenAddress(_app ?? throw new InvalidOperationException("the daemon is stopped"))
        ?? throw new InvalidOperationException("no HTTP listener");

    /// <summary>A plain HttpClient on the read-only TCP listener (a new one per call: the port changes on restart).</summary>
    public HttpClient CreateHttpClient() => new() { BaseAddress = new Uri($"http://{HttpListenAddress}/") };

    public async Task StartAsync()
    {
        if (_app is not null) throw new InvalidOperationException("already running");
        var app = DaemonHost.Build(Options);
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is not { } app) return;
        _app = null;
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    public static HttpClient CreateRawClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://switchyard/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    Task IAsyncLifetime.InitializeAsync() => StartAsync();
    async Task IAsyncLifetime.DisposeAsync() => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Client.Dispose();
        Raw.Dispose();
        if (_ownsDirectory)
        {
            try { Directory.Delete(StateDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
