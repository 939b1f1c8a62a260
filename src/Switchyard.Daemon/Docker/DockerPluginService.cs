using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Control;

namespace Switchyard.Daemon.Docker;

/// <summary>
/// The Docker plugin socket: its own listener (a second, minimal web host on the unix socket
/// dockerd discovers, <c>/run/docker/plugins/NAME.sock</c>), separate from the API socket so that
/// neither serves the other's routes. Each route is one remote.md call: a JSON body in, a JSON
/// answer out, and any refusal <c>{"Err": "..."}</c> with a 4xx/5xx status, which Docker shows as
/// "NetworkDriver.CALL: message" (pkg/plugins reads Err from a non-200 answer).
/// </summary>
internal sealed class DockerPluginService : IHostedService, IAsyncDisposable
{
    /// <summary>remote.md: the plugin API's media type.</summary>
    private const string MediaType = "application/vnd.docker.plugins.v1+json";

    private readonly DockerPluginOptions _options;
    private readonly RemoteDriver _driver;
    private readonly DockerEngine _engine;
    private readonly ILogger _logger;
    private WebApplication? _app;

    public DockerPluginService(DockerPluginOptions options, ControlPlane plane, string stateDirectory, ILoggerFactory loggers)
    {
        _options = options;
        _logger = loggers.CreateLogger(DockerLog.Category);
        _engine = new DockerEngine(options.DockerSocketPath);
        _driver = new RemoteDriver(plane.Directory, plane.Registry, new DockerBindings(stateDirectory), _engine, _logger, options.NameWait);
    }

    public RemoteDriver Driver => _driver;

    /// <summary>Checked while the daemon is built, before it touches state: a live socket (another
    /// daemon's plugin) refuses the start, a stale one is removed, the directory is made.</summary>
    public static void PrepareSocket(DockerPluginOptions options)
    {
        var path = Path.GetFullPath(options.SocketPath);
        if (System.Text.Encoding.UTF8.GetByteCount(path) > 103)
            throw new DaemonStartException($"--docker-plugin-socket {path} is too long for a unix socket (at most 103 bytes)");
        if (!options.SocketPath.EndsWith(".sock", StringComparison.Ordinal))
            throw new DaemonStartException($"--docker-plugin-socket {path}: dockerd finds plugin sockets by the .sock suffix (NAME.sock)");
        try { _ = options.DockerSocketPath; }
        catch (ArgumentException e) { throw new DaemonStartException(e.Message, e); }
        try { Directory.CreateDirectory(Path.GetDirectoryName(path)!); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DaemonStartException($"cannot create {Path.GetDirectoryName(path)}: {e.Message}", e);
        }
        if (!File.Exists(path)) return;
        if (!Platform.FileKind.IsSocket(path)) throw new DaemonStartException($"{path} exists and is not a socket");
        switch (Platform.UnixSocketProbe.Probe(path, out var detail))
        {
            case Platform.UnixSocketState.Stale: File.Delete(path); break;
            case Platform.UnixSocketState.Absent: break;
            default: throw new DaemonStartException($"another process is serving the Docker plugin socket {path} ({detail}); stop it or choose another --docker-plugin-socket");
        }
    }

    public async Task StartAsync(CancellationToken cancel)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(_options.SocketPath));
        var app = builder.Build();
        Map(app);
        await app.StartAsync(cancel).ConfigureAwait(false);
        _app = app;
        // Only dockerd (root) calls the driver, and the driver changes networks as the daemon: 0600.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_options.SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _driver.Resume();
        DockerLog.Listening(_logger, _options.DriverName, _options.SocketPath, _options.DockerHost);
    }

    public async Task StopAsync(CancellationToken cancel)
    {
        if (_app is not { } app) return;
        _app = null;
        await app.StopAsync(cancel).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        try { File.Delete(_options.SocketPath); } catch (IOException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _engine.Dispose();
    }

    private void Map(WebApplication app)
    {
        var json = DockerJsonContext.Default;
        // remote.md, "Handshake": the plugin says which APIs it implements.
        Route(app, "/Plugin.Activate", json.NetworkRequest, _ => Task.FromResult<DriverResponse>(new ActivateResponse { Implements = ["NetworkDriver"] }), json.ActivateResponse);
        Route(app, "/NetworkDriver.GetCapabilities", json.NetworkRequest, _ => Task.FromResult<DriverResponse>(RemoteDriver.Capabilities), json.CapabilitiesResponse);
        Route(app, "/NetworkDriver.CreateNetwork", json.CreateNetworkRequest, async r => { await _driver.CreateNetworkAsync(r); return new DriverResponse(); }, json.DriverResponse);
        Route(app, "/NetworkDriver.DeleteNetwork", json.NetworkRequest, async r => { await _driver.DeleteNetworkAsync(r); return new DriverResponse(); }, json.DriverResponse);
        Route(app, "/NetworkDriver.CreateEndpoint", json.EndpointRequest, async r => await _driver.CreateEndpointAsync(r), json.CreateEndpointResponse);
        Route(app, "/NetworkDriver.DeleteEndpoint", json.EndpointRequest, async r => { await _driver.DeleteEndpointAsync(r); return new DriverResponse(); }, json.DriverResponse);
        Route(app, "/NetworkDriver.EndpointOperInfo", json.EndpointRequest, r => Task.FromResult<DriverResponse>(_driver.EndpointInfo(r)), json.EndpointInfoResponse);
        Route(app, "/NetworkDriver.Join", json.EndpointRequest, r => Task.FromResult<DriverResponse>(_driver.Join(r)), json.JoinResponse);
        Route(app, "/NetworkDriver.Leave", json.EndpointRequest, r => { _driver.Leave(r); return Task.FromResult(new DriverResponse()); }, json.DriverResponse);
        Route(app, "/NetworkDriver.ProgramExternalConnectivity", json.EndpointRequest, async r => { await _driver.ProgramExternalConnectivityAsync(r); return new DriverResponse(); }, json.DriverResponse);
        Route(app, "/NetworkDriver.RevokeExternalConnectivity", json.EndpointRequest, async r => { await _driver.RevokeExternalConnectivityAsync(r); return new DriverResponse(); }, json.DriverResponse);
        // Discovery notifications (node and datastore discovery) matter to multi-host drivers only: acknowledged.
        Route(app, "/NetworkDriver.DiscoverNew", json.NetworkRequest, _ => Task.FromResult(new DriverResponse()), json.DriverResponse);
        Route(app, "/NetworkDriver.DiscoverDelete", json.NetworkRequest, _ => Task.FromResult(new DriverResponse()), json.DriverResponse);
        // Allocate/FreeNetwork are swarm's (global scope) calls on a manager; a local driver has nothing to allocate.
        Route(app, "/NetworkDriver.AllocateNetwork", json.AllocateNetworkRequest, _ => Task.FromResult<DriverResponse>(new AllocateNetworkResponse()), json.AllocateNetworkResponse);
        Route(app, "/NetworkDriver.FreeNetwork", json.NetworkRequest, _ => Task.FromResult(new DriverResponse()), json.DriverResponse);
        // "{*path}": every call has a dot in its name, which MapFallback's default pattern ({*path:nonfile}) skips.
        app.MapFallback("{*path}", (RequestDelegate)(c => Write(c, 404, new DriverResponse { Err = $"no such plugin call: {c.Request.Method} {c.Request.Path}" }, DockerJsonContext.Default.DriverResponse)));
    }

    private void Route<TRequest, TResponse>(WebApplication app, string path, JsonTypeInfo<TRequest> request, Func<TRequest, Task<DriverResponse>> handle,
        JsonTypeInfo<TResponse> response) where TRequest : new() where TResponse : DriverResponse
    {
        string call = path.TrimStart('/');
        app.MapPost(path, (RequestDelegate)(async c =>
        {
            TRequest body;
            try
            {
                // pkg/plugins sends "null" for calls without arguments (Activate, GetCapabilities).
                body = c.Request.ContentLength == 0 ? new TRequest() : await JsonSerializer.DeserializeAsync(c.Request.Body, request, c.RequestAborted) ?? new TRequest();
            }
            catch (JsonException e)
            {
                await Fail(c, call, 400, $"the request body is not a {call} request: {e.Message}");
                return;
            }
            DriverResponse answer;
            try { answer = await handle(body); }
            catch (ControlException e)
            {
                await Fail(c, call, e.Kind switch { ControlError.Invalid => 400, ControlError.NotFound => 404, ControlError.Conflict => 409, ControlError.Forbidden => 403, _ => 500 }, e.Message);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or State.StateUnwritableException or DockerEngineUnavailableException)
            {
                await Fail(c, call, 500, e.Message);
                return;
            }
            await Write(c, 200, (TResponse)answer, response);
        }));
    }

    private async Task Fail(HttpContext c, string call, int status, string message)
    {
        DockerLog.CallFailed(_logger, call, message);
        await Write(c, status, new DriverResponse { Err = message }, DockerJsonContext.Default.DriverResponse);
    }

    private static async Task Write<T>(HttpContext c, int status, T body, JsonTypeInfo<T> type)
    {
        c.Response.StatusCode = status;
        c.Response.ContentType = MediaType;
        await JsonSerializer.SerializeAsync(c.Response.Body, body, type, c.RequestAborted);
    }
}
