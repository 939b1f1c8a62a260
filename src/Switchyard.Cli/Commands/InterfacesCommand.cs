using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary><c>yard interfaces</c>: the host interfaces a bridged network can join, as the daemon
/// (which does the bridging, in its own namespace) sees them; without a daemon, as this process does.</summary>
internal static class InterfacesCommand
{
    public static Command Build()
    {
        var format = Output.FormatOption();
        var cmd = new Command("interfaces", "List the host's interfaces and whether a network can bridge to each (--mode bridged:IFACE)") { format };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            List<HostInterfaceInfo> list;
            try { list = await client.ListInterfacesAsync(ct); }
            catch (SwitchyardUnavailableException e)
            {
                // No daemon: this process's own view (the same namespace, unless the daemon runs in another one).
                Console.Error.WriteLine($"yard: {e.Message}; listing the interfaces this process sees");
                list = [.. Daemon.Api.Views.HostInterfaceViews.List()];
            }
            if (parse.GetValue(format) == "json") { Output.Json(list, SwitchyardJsonContext.Default.ListHostInterfaceInfo); return 0; }
            Output.Table(["NAME", "KIND", "MAC", "MTU", "STATE", "ADDRESSES", "BRIDGE"],
                list.Select(i => (IReadOnlyList<string>)[
                    i.Name, i.Kind, i.Mac ?? "-", i.Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), i.State,
                    i.Addresses.Count == 0 ? "-" : string.Join(",", i.Addresses),
                    i.CanBridge ? (i.Reason is null ? "yes" : $"yes ({i.Reason})") : $"no ({i.Reason})"]));
            return 0;
        }));
        return cmd;
    }
}
