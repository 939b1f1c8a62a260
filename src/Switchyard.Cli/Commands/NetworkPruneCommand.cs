using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary><c>yard network prune</c>: removes every network without endpoints except <c>default</c>,
/// as <c>docker network prune</c> does. Removing is not undone, so it asks first on a terminal and,
/// without one (a script, a pipe), refuses unless given <c>--force</c>: a script states its intent.</summary>
internal static class NetworkPruneCommand
{
    public static Command Build()
    {
        var force = new Option<bool>("--force") { Description = "Do not ask for confirmation (needed without a terminal)" };
        force.Aliases.Add("-f");
        var filter = ListOptions.Filter(ListFilter.NetworkKeys, "Only networks that match, repeatable: label=KEY or label=KEY=VALUE, mode=MODE, name=TEXT (as network ls --filter)",
            shortAlias: false);
        var format = Output.FormatOption();
        var cmd = new Command("prune", "Remove every network without endpoints, except default and those the Docker driver made (docker network rm removes them); asks first on a terminal") { force, filter, format };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var selected = ListOptions.Read(parse, filter, ListFilter.NetworkKeys);
            if (!parse.GetValue(force))
            {
                switch (Confirm(!Console.IsInputRedirected, Console.In, Console.Error, selected))
                {
                    case null: return Output.Error("network prune removes networks: run it on a terminal to confirm, or give --force");
                    case false: return Output.Error("nothing removed");
                }
            }
            var result = await client.PruneNetworksAsync(selected, ct);
            if (parse.GetValue(format) == "json") Output.Json(result, SwitchyardJsonContext.Default.NetworkPruneResult);
            else Print(result, Console.Out);
            foreach (var k in result.Kept ?? []) Console.Error.WriteLine($"yard: kept {k.Name}: {k.Reason}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>Asks on the terminal whether to go on: true on y or yes, false on anything else (or
    /// end of input), null when there is no terminal to ask on.</summary>
    internal static bool? Confirm(bool interactive, TextReader input, TextWriter prompt, ListFilter filter)
    {
        if (!interactive) return null;
        prompt.Write($"WARNING! This will remove all networks without endpoints, except default{(filter.IsEmpty ? "" : $", that match {filter}")}.\n"
            + "Are you sure you want to continue? [y/N] ");
        prompt.Flush();
        var answer = input.ReadLine()?.Trim();
        return answer is not null && (answer.Equals("y", StringComparison.OrdinalIgnoreCase) || answer.Equals("yes", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Table format: what was removed, one name a line under a heading (docker's shape), or that nothing was.</summary>
    internal static void Print(NetworkPruneResult result, TextWriter output)
    {
        if (result.Removed.Count == 0) { output.WriteLine("No networks to remove"); return; }
        output.WriteLine("Removed networks:");
        foreach (var name in result.Removed) output.WriteLine(name);
    }
}
