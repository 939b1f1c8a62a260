using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

internal static class VersionCommand
{
    public static Command Build()
    {
        var format = Output.FormatOption();
        var cmd = new Command("version", "Show the CLI's version and the daemon's") { format };
        cmd.SetAction(async (parse, ct) =>
        {
            string cli = typeof(VersionCommand).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
            return await Output.WithClient(parse, async client =>
            {
                var v = await client.GetVersionAsync(ct);
                if (parse.GetValue(format) == "json") Output.Json(v, SwitchyardJsonContext.Default.VersionInfo);
                else Console.WriteLine($"yard {cli}\ndaemon {v.Version} (API {v.ApiVersion}, .NET {v.Runtime}, {v.Os})");
                return 0;
            });
        });
        return cmd;
    }
}
