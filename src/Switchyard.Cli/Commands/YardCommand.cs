using System.CommandLine;

namespace Switchyard.Cli.Commands;

/// <summary>The <c>yard</c> command tree. Every subcommand talks to the daemon through
/// <see cref="Switchyard.Client.SwitchyardClient"/>, except <c>daemon</c> and <c>demo</c>, which host one.</summary>
public static class YardCommand
{
    public static readonly Option<string?> Socket = new("--socket")
    {
        Description = "The daemon's API socket (default: $YARD_SOCKET, else /run/switchyard/yard.sock as root, else $XDG_RUNTIME_DIR/switchyard/yard.sock)",
        Recursive = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand("Switchyard: user-mode virtual networks for VMs, containers and sandboxes.");
        root.Options.Add(Socket);
        root.Subcommands.Add(DaemonCommand.Build());
        root.Subcommands.Add(NetworkCommands.Build());
        root.Subcommands.Add(EndpointCommands.Build());
        root.Subcommands.Add(InterfacesCommand.Build());
        root.Subcommands.Add(EgressCommands.Build());
        root.Subcommands.Add(TopCommand.Build());
        root.Subcommands.Add(ConnectCommand.Build());
        root.Subcommands.Add(CniCommand.Build());
        root.Subcommands.Add(VersionCommand.Build());
        root.Subcommands.Add(DemoCommand.Build());
        return root;
    }
}
