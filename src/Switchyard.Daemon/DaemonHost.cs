using Switchyard.Network;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Api;
using Switchyard.Daemon.Api.Views;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon;

/// <summary>Thrown when the daemon cannot start; the message is the one line the user sees.</summary>
public sealed class DaemonStartException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Builds and runs the daemon in one ordered sequence: state directory, state store,
/// socket checks, networks restored, API on the unix socket. Each failure says which step failed.</summary>
public static class DaemonHost
{
    public static async Task RunAsync(DaemonOptions options, CancellationToken cancel = default)
    {
        var app = Build(options);
        await using (app.ConfigureAwait(false))
        {
            try { await app.StartAsync(cancel).ConfigureAwait(false); }
            catch (IOException e) when (options.HttpListen is { } http)
            {
                // Kestrel binds every listener at start; the unix socket was checked in Build, so a
                // bind failure here is the TCP listener's (a port in use, an address not on this host).
                throw new DaemonStartException($"--http-listen: cannot listen on {http}: {(e.InnerException ?? e).Message}", e);
            }
            await app.WaitForShutdownAsync(cancel).ConfigureAwait(false);
        }
    }

    public static WebApplication Build(DaemonOptions options)
    {
        // sockaddr_un.sun_path holds 108 bytes on Linux and 104 on macOS, with the terminating NUL.
        if (System.Text.Encoding.UTF8.GetByteCount(Path.GetFullPath(options.SocketPath)) > 103)
            throw new DaemonStartException($"socket path {options.SocketPath} is too long for a unix socket (at most 103 bytes)");
        // The socket first: a second daemon must refuse before it touches any state.
        if (options.SocketGroup is { } group)
        {
            try { Platform.FileOwnership.ResolveGroup(group); }
            catch (ArgumentException e) { throw new DaemonStartException($"--group: {e.Message}", e); }
        }
        PrepareSocket(options.SocketPath, options.SocketGroup);
        if (options.DockerPlugin is { } docker) Docker.DockerPluginService.PrepareSocket(docker);
        try
        {
            if (!Directory.Exists(options.StateDirectory) && !OperatingSystem.IsWindows())
                Directory.CreateDirectory(options.StateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            else Directory.CreateDirectory(options.StateDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DaemonStartException($"cannot create state directory {options.StateDirectory}: {e.Message}", e);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = options.StateDirectory, Args = [] });
        builder.Logging.ClearProviders();
        if (options.LogFormat == DaemonLogFormat.Json)   // one object per line: what log shippers split on
            builder.Logging.AddJsonConsole(o => { o.UseUtcTimestamp = true; o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'"; });
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Host.UseSystemd();
        IServiceProvider? services = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenUnixSocket(options.SocketPath, listen => listen.Use(FdHandoff.Middleware(() => services!)));
            if (options.HttpListen is { } http) k.Listen(http);
        });
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Switchyard daemon API";
            doc.Info.Version = ApiRoutes.ApiVersion.ToString();
            doc.Info.Description = "JSON over HTTP on the daemon's unix socket. Errors are RFC 7807 problem+json. The fd handoff shares the socket: see docs/fd-handoff.md.";
            doc.Servers = [];
            return Task.CompletedTask;
        }));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, Switchyard.Client.SwitchyardJsonContext.Default));

        // Every NAT flow is a socket: the soft fd limit goes up to the hard one, and NAT flows get
        // what is left after a reserve for the daemon's own housekeeping (docs/nat.md, "Fair shares").
        var fileLimits = Platform.OpenFileLimit.RaiseToHard();
        var fds = new FdBudget(fileLimits.Soft > 0 ? fileLimits.Soft : 1024);

        StateStore store;
        try { store = new StateStore(Path.Combine(options.StateDirectory, "state.db")); }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or IOException)
        {
            throw new DaemonStartException($"cannot open state in {options.StateDirectory}: {e.Message}", e);
        }
        bool fresh = store.Networks().Count == 0 && !File.Exists(Path.Combine(options.StateDirectory, ".initialized"));
        builder.Services.AddSingleton<IStateStore>(store);
        builder.Services.AddSingleton(sp => new ControlPlane(store, new DirectoryOptions(options.ResolvConfPath, options.LeaseTime) { Fds = fds },
            sp.GetRequiredService<ILoggerFactory>()));
        if (options.DockerPlugin is { } plugin)
        {
            builder.Services.AddSingleton(sp => new Docker.DockerPluginService(plugin, sp.GetRequiredService<ControlPlane>(), options.StateDirectory,
                sp.GetRequiredService<ILoggerFactory>()));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<Docker.DockerPluginService>());
        }
        builder.Services.AddSingleton(sp => new EndpointViews(sp.GetRequiredService<ControlPlane>().Registry, store));

        var app = builder.Build();
        services = app.Services;
        var plane = app.Services.GetRequiredService<ControlPlane>();
        // A full or read-only state directory does not stop a restart: the stored networks and
        // endpoints are read back (reads work) and serve their guests; only a fresh directory,
        // which must store its default network, cannot start on one.
        try { plane.Directory.StartAsync(createDefault: fresh).GetAwaiter().GetResult(); }
        catch (StateUnwritableException e) { throw new DaemonStartException($"cannot create the default network: {e.Message}", e); }
        try { File.WriteAllText(Path.Combine(options.StateDirectory, ".initialized"), ""); }
        catch (IOException) when (!fresh) { }   // written at the first start already

        Observability.MetricsEndpoint.Add(app, plane.Registry, store, () => plane.Events.PendingWrites);
        app.Use(ApiRoutes.ProblemMiddleware);
        app.Use(HttpListenerGate.Middleware);
        app.Use(CallerAudit.Middleware);
        ApiRoutes.Map(app, plane, store, DateTimeOffset.UtcNow);
        Dashboard.DashboardRoutes.Map(app, Dashboard.DashboardAssets.Load());
        app.MapOpenApi("/openapi.json");
        // "{*path}", not MapFallback's default "{*path:nonfile}": a path with a dot (/x.json) is an unknown route too.
        app.MapFallback("{*path}", (Microsoft.AspNetCore.Http.HttpContext c) =>
            ApiRoutes.WriteProblem(c, 404, $"no such API route: {c.Request.Method} {c.Request.Path}"));

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Switchyard.Daemon");
        lifetime.ApplicationStarted.Register(() =>
        {
            SecureSocket(options);
            DaemonLog.Listening(logger, options.SocketPath, options.StateDirectory);
            if (fileLimits.Errno != 0) DaemonLog.FileLimitNotRaised(logger, fileLimits.Soft, fileLimits.Hard, fileLimits.Errno);
            else DaemonLog.FileLimit(logger, fileLimits.Before, fileLimits.Soft, fds.Reserve, fds.Capacity);
            if (HttpListenAddress(app) is { } http) DaemonLog.HttpListening(logger, $"http://{http}/");
        });
        // After a burst of NAT flows drains, memory goes back to the system (MemoryReturn's comment).
        var memoryReturn = new MemoryReturn(() => fds.Used, () => SwitchedBytes(plane.Registry), MemoryReturn.Collect, TimeProvider.System, logger);
        lifetime.ApplicationStopped.Register(() =>
        {
            memoryReturn.Dispose();
            // Transports close, persistent TAPs stay for the next start; state is flushed.
            plane.Dispose();
            store.Dispose();
            try { File.Delete(options.SocketPath); } catch (IOException) { }
            DaemonLog.Stopped(logger);
        });
        return app;
    }

    /// <summary>Bytes through every endpoint's port so far: <see cref="MemoryReturn"/>'s sign of traffic (read every
    /// few seconds, under the registry's lock for a moment; the counters are the ones /metrics reads).</summary>
    private static long SwitchedBytes(NetworkRegistry registry)
    {
        long sum = 0;
        foreach (var n in registry.Snapshot())
            sum += registry.Read(() => n.Endpoints.Values.Sum(e => e.Port is { } p ? p.Counters.BytesIn + p.Counters.BytesOut : 0L));
        return sum;
    }

    /// <summary>Where the read-only TCP listener is bound once the daemon has started (the port
    /// Kestrel chose when <c>--http-listen</c> said 0), or null when there is none.</summary>
    public static System.Net.IPEndPoint? HttpListenAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
        foreach (var a in addresses ?? [])
        {
            if (!a.StartsWith("http://", StringComparison.Ordinal) || a.StartsWith("http://unix:", StringComparison.Ordinal)) continue;
            if (System.Net.IPEndPoint.TryParse(a["http://".Length..].TrimEnd('/'), out var ep)) return ep;
        }
        return null;
    }

    /// <summary>Refuses to start when a live process (another daemon, or anything else) has a socket
    /// bound at the path, probed with a stream and a datagram connect; removes a stale one.</summary>
    private static void PrepareSocket(string path, string? group)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            if (!Directory.Exists(dir))
            {
                Directory.CreateDirectory(dir);
                // Private to the daemon's user; with --group, that group may enter it to reach the socket.
                if (!OperatingSystem.IsWindows())
                {
                    var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
                    if (group is not null)
                    {
                        Platform.FileOwnership.SetGroup(dir, group);
                        mode |= UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
                    }
                    File.SetUnixFileMode(dir, mode);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DaemonStartException($"cannot create socket directory {dir}: {e.Message}", e);
        }
        if (!File.Exists(path)) return;
        if (!Platform.FileKind.IsSocket(path)) throw new DaemonStartException($"{path} exists and is not a socket; remove it or choose another --socket");
        // Both probes (stream and datagram): a live socket of any kind stays, not only a daemon's.
        switch (Platform.UnixSocketProbe.Probe(path, out var detail))
        {
            case Platform.UnixSocketState.Stale: File.Delete(path); break; // left behind by a daemon that died
            case Platform.UnixSocketState.Absent: break;
            case Platform.UnixSocketState.Listening:
                throw new DaemonStartException($"another Switchyard daemon is already listening on {path} (or another server: {detail})");
            default:
                throw new DaemonStartException($"{path} is in use: {detail}; stop that process or choose another --socket");
        }
    }

    /// <summary>The API socket is the daemon's whole authority: mode 0600 for its user, or 0660
    /// for a group the admin names (<c>--group</c>).</summary>
    private static void SecureSocket(DaemonOptions options)
    {
        if (OperatingSystem.IsWindows()) return;
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (options.SocketGroup is { } group)
        {
            Platform.FileOwnership.SetGroup(options.SocketPath, group);
            mode |= UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        }
        File.SetUnixFileMode(options.SocketPath, mode);
    }
}

internal static partial class DaemonLog
{
    [LoggerMessage(EventId = LogEvents.DaemonListening, Level = LogLevel.Information, Message = "Switchyard daemon listening on {Socket} (state in {StateDirectory})")]
    public static partial void Listening(ILogger logger, string socket, string stateDirectory);
    [LoggerMessage(EventId = LogEvents.DaemonHttpListening, Level = LogLevel.Information, Message = "Read-only HTTP (dashboard, metrics) on {Url}")]
    public static partial void HttpListening(ILogger logger, string url);
    [LoggerMessage(EventId = LogEvents.DaemonStopped, Level = LogLevel.Information, Message = "Switchyard daemon stopped")]
    public static partial void Stopped(ILogger logger);
    [LoggerMessage(EventId = LogEvents.OpenFileLimitRaised, Level = LogLevel.Information,
        Message = "Open file limit {Soft} (was {Before}); {Reserve} kept for the daemon, {Capacity} for NAT flows")]
    public static partial void FileLimit(ILogger logger, long before, long soft, int reserve, int capacity);
    [LoggerMessage(EventId = LogEvents.OpenFileLimitNotRaised, Level = LogLevel.Warning,
        Message = "Could not raise the open file limit {Soft} to the hard limit {Hard} (errno {Errno}); NAT flows get what it leaves")]
    public static partial void FileLimitNotRaised(ILogger logger, long soft, long hard, int errno);
}
