namespace Switchyard.Daemon;

/// <summary>How <c>yard daemon</c> was started.</summary>
public sealed record DaemonOptions
{
    /// <summary>Holds state.db. Default: /var/lib/switchyard as root, else $XDG_STATE_HOME/switchyard (~/.local/state/switchyard).</summary>
    public required string StateDirectory { get; init; }
    public required string SocketPath { get; init; }
    /// <summary>When set, the socket is mode 0660 and owned by this group; else 0600.</summary>
    public string? SocketGroup { get; init; }
    /// <summary>The host's resolver file (<c>--resolv-conf</c>), which networks without upstreams of
    /// their own follow: watched, so a rewrite (a VPN client, resolvconf) applies within a second.
    /// It may be missing: then there is no upstream until it appears.</summary>
    public string ResolvConfPath { get; init; } = Resolvers.HostResolvers.DefaultPath;
    public TimeSpan LeaseTime { get; init; } = TimeSpan.FromHours(1);
    /// <summary><c>--http-listen</c>: a read-only TCP listener for the dashboard and <c>/metrics</c>
    /// (see Api/HttpListenerGate). Null (the default): nothing listens on TCP. Port 0 picks a free one.</summary>
    public System.Net.IPEndPoint? HttpListen { get; init; }
    /// <summary><c>--log-format</c>: one human line per event (the default), or one JSON object per
    /// line with a UTC timestamp, for log shippers.</summary>
    public DaemonLogFormat LogFormat { get; init; } = DaemonLogFormat.Simple;
    /// <summary><c>--docker-plugin</c>: also serve Docker's remote network driver protocol on its own
    /// socket (see Docker/DockerPluginService). Null (the default): no plugin socket.</summary>
    public Docker.DockerPluginOptions? DockerPlugin { get; init; }

    public static string DefaultStateDirectory()
    {
        if (OperatingSystem.IsLinux() && Environment.UserName == "root") return "/var/lib/switchyard";
        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".local", "state") : xdg, "switchyard");
    }
}

/// <summary>How the daemon writes its log to stdout.</summary>
public enum DaemonLogFormat { Simple, Json }
