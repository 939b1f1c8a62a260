using System.CommandLine;
using Switchyard.Client;
using Switchyard.Daemon;
using Switchyard.Daemon.Resolvers;

namespace Switchyard.Cli.Commands;

internal static class DaemonCommand
{
    public static Command Build()
    {
        var stateDir = new Option<string?>("--state-dir") { Description = "Where state.db lives (default: /var/lib/switchyard as root, else ~/.local/state/switchyard)" };
        var group = new Option<string?>("--group") { Description = "Make the API socket mode 0660, owned by this group (default: 0600, the daemon's user only); members may change only what they could on the host themselves (docs/api.md, Who may do what)" };
        var resolvConf = new Option<string>("--resolv-conf")
        {
            Description = "The host resolver file that networks without --dns-upstream follow: watched, a rewrite applies within a second (missing or empty: no upstream, guests' own names still answered)",
            DefaultValueFactory = _ => HostResolvers.DefaultPath,
        };
        var httpListen = new Option<string?>("--http-listen")
        {
            Description = "Also serve the dashboard and /metrics, read-only, over HTTP on ADDR:PORT (a bare PORT or :PORT means 127.0.0.1; off by default). Control stays on the API socket.",
            HelpName = "ADDR:PORT",
        };
        httpListen.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } text && ParseHttpListen(text) is null)
                r.AddError($"--http-listen: '{text}' is not ADDR:PORT (e.g. 127.0.0.1:9180, [::1]:9180 or 9180)");
        });
        var logFormat = new Option<string>("--log-format")
        {
            Description = "How the log on stdout looks: simple (one line per event, local time) or json (one JSON object per line, UTC timestamps, for log shippers)",
            DefaultValueFactory = _ => "simple",
            HelpName = "simple|json",
        };
        logFormat.AcceptOnlyFromAmong("simple", "json");
        var dockerPlugin = new Option<bool>("--docker-plugin")
        {
            Description = "Also serve Docker's remote network driver on its own socket: docker network create -d switchyard --subnet CIDR [-o mode=nat|host|internal] [-o egress=deny -o allow=NAME,...] NET (docs/integrations.md, Docker)",
        };
        var dockerPluginSocket = new Option<string?>("--docker-plugin-socket")
        {
            Description = $"The driver's socket (implies --docker-plugin); dockerd finds drivers in /run/docker/plugins, and the file name without .sock is the driver's name (default {Switchyard.Daemon.Docker.DockerPluginOptions.DefaultSocketPath})",
            HelpName = "PATH",
        };
        var dockerHost = new Option<string?>("--docker-host")
        {
            Description = $"dockerd's API socket, asked for a new network's name, which Docker's CreateNetwork does not carry (default {Switchyard.Daemon.Docker.DockerPluginOptions.DefaultDockerHost}; without an answer the network is named docker-ID12)",
            HelpName = "unix:///PATH",
        };
        var cmd = new Command("daemon", "Run the Switchyard daemon in the foreground (systemd: Type=notify)") { stateDir, group, resolvConf, httpListen, logFormat, dockerPlugin, dockerPluginSocket, dockerHost };
        cmd.SetAction(async (parse, ct) =>
        {
            var options = new DaemonOptions
            {
                StateDirectory = parse.GetValue(stateDir) ?? DaemonOptions.DefaultStateDirectory(),
                SocketPath = parse.GetValue(YardCommand.Socket) ?? SocketPaths.Default(),
                SocketGroup = parse.GetValue(group),
                ResolvConfPath = parse.GetValue(resolvConf)!,
                HttpListen = parse.GetValue(httpListen) is { } http ? ParseHttpListen(http) : null,
                LogFormat = parse.GetValue(logFormat) == "json" ? DaemonLogFormat.Json : DaemonLogFormat.Simple,
                DockerPlugin = DockerPlugin(parse.GetValue(dockerPlugin), parse.GetValue(dockerPluginSocket), parse.GetValue(dockerHost)),
            };
            if (parse.GetValue(dockerHost) is not null && options.DockerPlugin is null)
                return Output.Error("--docker-host applies with --docker-plugin");
            try
            {
                await DaemonHost.RunAsync(options, ct);
                return 0;
            }
            catch (DaemonStartException e)
            {
                return Output.Error(e.Message);
            }
        });
        return cmd;
    }

    /// <summary>The Docker driver's options: on with --docker-plugin or --docker-plugin-socket.</summary>
    internal static Switchyard.Daemon.Docker.DockerPluginOptions? DockerPlugin(bool on, string? socket, string? dockerHost)
    {
        if (!on && socket is null) return null;
        var options = new Switchyard.Daemon.Docker.DockerPluginOptions();
        if (socket is not null) options = options with { SocketPath = Path.GetFullPath(socket) };
        if (dockerHost is not null) options = options with { DockerHost = dockerHost };
        return options;
    }

    /// <summary>ADDR:PORT, [V6]:PORT, or a bare PORT / :PORT on 127.0.0.1: loopback unless an
    /// address is given, so nothing is reachable from elsewhere by accident.</summary>
    internal static System.Net.IPEndPoint? ParseHttpListen(string text)
    {
        text = text.Trim();
        if (text.StartsWith(':')) text = text[1..];
        if (ushort.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bare))
            return new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, bare);
        // IPEndPoint.TryParse takes a bare address as port 0: insist on an explicit port.
        int colon = text.LastIndexOf(':');
        if (colon < 0 || text.EndsWith(']')) return null;
        if (!System.Net.IPEndPoint.TryParse(text, out var ep)) return null;
        if (ep.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !text.StartsWith('[')) return null;
        return ep;
    }
}
