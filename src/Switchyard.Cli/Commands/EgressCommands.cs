using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary>Egress policies on the command line: the options <c>network create</c>, <c>network
/// update</c> and <c>endpoint attach</c> share, and <c>yard egress log</c>.</summary>
internal static class EgressCommands
{
    public const string RuleHelp = "DOMAIN, *.DOMAIN or CIDR, optionally :PORT and /tcp or /udp";

    /// <summary>--egress deny|allow with --allow and --deny rules, for a new network or endpoint.</summary>
    public sealed class PolicyOptions
    {
        public Option<string?> Default { get; } = new("--egress")
        {
            Description = "deny: only what --allow names may leave (an allowlist); allow: everything but what --deny names",
            Validators = { r => { if (r.GetValueOrDefault<string?>() is { } v && v is not ("deny" or "allow")) r.AddError($"--egress must be deny or allow, not '{v}'"); } },
        };
        public Option<string[]> Allow { get; } = Rules("--allow", "Allow egress to " + RuleHelp + "; repeatable");
        public Option<string[]> Deny { get; } = Rules("--deny", "Deny egress to " + RuleHelp + "; repeatable");

        public void AddTo(Command command)
        {
            command.Options.Add(Default);
            command.Options.Add(Allow);
            command.Options.Add(Deny);
            command.Validators.Add(r =>
            {
                if (r.GetValue(Default) is null && (r.GetValue(Allow) is { Length: > 0 } || r.GetValue(Deny) is { Length: > 0 }))
                    r.AddError("--allow and --deny need --egress deny (an allowlist) or --egress allow (a denylist)");
            });
        }

        public EgressPolicySpec? Read(ParseResult parse) => parse.GetValue(Default) is not { } d ? null : new EgressPolicySpec
        {
            Default = d,
            Allow = parse.GetValue(Allow) is { Length: > 0 } allow ? allow : null,
            Deny = parse.GetValue(Deny) is { Length: > 0 } deny ? deny : null,
        };
    }

    /// <summary>A rule option whose values are checked before any daemon call: a typo is a usage error.</summary>
    public static Option<string[]> Rules(string name, string description)
    {
        var option = new Option<string[]>(name) { Description = description };
        option.Validators.Add(r =>
        {
            foreach (var rule in r.GetValueOrDefault<string[]>() ?? [])
                if (!EgressRuleSpec.TryParse(rule, out _, out var error)) r.AddError(error);
        });
        return option;
    }

    public static Command Build()
    {
        var cmd = new Command("egress", "Egress policy decisions (policies are set with network create/update and endpoint attach)");
        cmd.Subcommands.Add(Log());
        return cmd;
    }

    private static Command Log()
    {
        var network = new Argument<string>("NETWORK");
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing decisions as they happen (until Ctrl-C)" };
        var limit = new Option<int>("--limit", "-n") { Description = "How many of the newest logged decisions to print first (default 50)", DefaultValueFactory = _ => 50 };
        limit.CustomParser = Output.NumberIn("--limit", 1, 100_000);
        var format = Output.FormatOption();
        var cmd = new Command("log", "Show a network's egress decisions: time, endpoint, protocol, destination, name, verdict, reason") { network, follow, limit, format };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            string net = parse.GetValue(network)!;
            bool json = parse.GetValue(format) == "json";
            bool following = parse.GetValue(follow);
            var past = await client.GetEgressLogAsync(net, parse.GetValue(limit), ct);
            if (json && !following) { Output.Json(past, SwitchyardJsonContext.Default.ListEgressEvent); return 0; }
            // JSON lines while following: one event per line, for `jq` and friends.
            void Print(EgressEvent e)
            {
                if (json) Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(e, JsonLinesContext.Default.EgressEvent));
                else Console.Out.WriteLine($"{e.Time.ToLocalTime():HH:mm:ss.fff}  {e.Verdict,-5}  {e.Endpoint}  {e.Protocol,-4}  {e.Destination ?? "-"}  {e.Name ?? "-"}  ({e.Reason})");
            }
            foreach (var e in past) Print(e);
            if (!following) return 0;
            try
            {
                await foreach (var e in client.FollowEgressAsync(net, ct)) Print(e);
            }
            catch (OperationCanceledException) { }
            return 0;
        }));
        return cmd;
    }
}
