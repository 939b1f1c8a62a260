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
        var group = new Option<string?>("--group") { Description = "Make the API socket mode 0660, owned by this group (default: 0600, the daemon's user only)" };
        var resolvConf = new Option<string>("--resolv-conf")
        {
            Description = "The host resolver file that networks without --dns-upstream follow: watched, a rewrite applies within a second (missing or empty: no upstream, guests' own names still answered)",
            DefaultValueFactory = _ => HostResolvers.DefaultPath,
        };
        var cmd = new Command("daemon", "Run the Switchyard daemon in the foreground (systemd: Type=notify)") { stateDir, group, resolvConf };
        cmd.SetAction(async (parse, ct) =>
        {
            var options = new DaemonOptions
            {
                StateDirectory = parse.GetValue(stateDir) ?? DaemonOptions.DefaultStateDirectory(),
                SocketPath = parse.GetValue(YardCommand.Socket) ?? SocketPaths.Default(),
                SocketGroup = parse.GetValue(group),
                ResolvConfPath = parse.GetValue(resolvConf)!,
            };
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
}
