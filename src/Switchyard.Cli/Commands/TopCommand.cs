using System.CommandLine;
using Switchyard.Cli.Top;

namespace Switchyard.Cli.Commands;

/// <summary><c>yard top [NETWORK]</c>: live traffic per endpoint and egress decisions, refreshing
/// in place; <c>--once</c> (and <c>--format json</c>) for one snapshot.</summary>
internal static class TopCommand
{
    public static Command Build()
    {
        var network = new Argument<string?>("NETWORK") { Arity = ArgumentArity.ZeroOrOne, Description = "Only this network (default: every network)" };
        var interval = new Option<double>("--interval", "-i")
        {
            Description = "Seconds between refreshes; with --once, the span the rates are measured over",
            DefaultValueFactory = _ => 1.0,
            HelpName = "SECONDS",
        };
        interval.CustomParser = Output.NumberIn("--interval", 0.1, 3600, " seconds");
        var once = new Option<bool>("--once") { Description = "Print one snapshot (two samples one interval apart, for the rates) and exit" };
        var format = Output.FormatOption();
        format.Description = "With --once: table or json (the live view is for terminals)";
        var cmd = new Command("top", "Live traffic in a terminal: each network's endpoints busiest first (bytes and frames per second in and out, drops), NAT flows, DNS queries and recent egress decisions. In: from the guest; out: to it")
        {
            network, interval, once, format,
        };
        cmd.Validators.Add(r =>
        {
            if (r.GetValue(format) == "json" && !r.GetValue(once)) r.AddError("--format json needs --once: the live view is for terminals, one JSON snapshot is for scripts");
        });
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var every = TimeSpan.FromSeconds(parse.GetValue(interval));
            var sampler = new TopSampler(client, parse.GetValue(network), TimeProvider.System);
            if (!parse.GetValue(once))
            {
                if (Console.IsOutputRedirected)
                    return Output.Error("yard top refreshes a terminal, and stdout is not one: use --once (with --format json for scripts)");
                await TopLive.RunAsync(sampler, every, TimeProvider.System, ct);
                return 0;
            }
            var first = await sampler.SampleAsync(ct);
            await Task.Delay(every, ct);
            var report = TopRates.Build(first, await sampler.SampleAsync(ct));
            if (parse.GetValue(format) == "json") Output.Json(report, CliJsonContext.Default.TopReport);
            else
            {
                // A pipe gets whole lines; a terminal gets lines that fit it.
                int width = Console.IsOutputRedirected ? int.MaxValue : TopScreen.Size().Width;
                foreach (var line in TopRenderer.Render(report, width)) Console.Out.WriteLine(line);
            }
            return 0;
        }));
        return cmd;
    }
}
