using System.CommandLine;
using Switchyard.Cli.Commands;
using Switchyard.Client;

namespace Switchyard.Cli.Tests;

/// <summary>Issue 12's housekeeping at parse level (no daemon): --filter on the listings and prune,
/// prune's confirmation and its table output.</summary>
public sealed class HousekeepingParseTests
{
    private static ParseResult Parse(params string[] args) => YardCommand.Build().Parse(args);

    private static string Errors(ParseResult r) => string.Join("\n", r.Errors.Select(e => e.Message));

    private static void Ok(params string[] args)
    {
        var r = Parse(args);
        Assert.True(r.Errors.Count == 0, Errors(r));
    }

    [Fact]
    public void Listings_and_prune_take_repeated_filters()
    {
        Ok("network", "ls", "--filter", "label=team=web", "--filter", "mode=nat", "-f", "name=web", "--format", "json");
        Ok("endpoint", "ls", "--filter", "network=lab", "--filter", "label=role", "-f", "name=db");
        Ok("endpoint", "ls", "lab", "--filter", "label=role=web");
        Ok("network", "prune", "--force", "--filter", "label=team=lab", "--format", "json");
        Ok("network", "prune", "-f");
        var r = Parse("network", "ls", "--filter", "label=a=b", "--filter", "mode=host");
        Assert.Equal(["label=a=b", "mode=host"], r.GetValue<string[]>("--filter")!);
    }

    [Theory]
    [InlineData("network", "ls", "--filter", "driver=bridge", "unknown filter 'driver'")]
    [InlineData("network", "ls", "--filter", "mode=bridge", "a mode is nat, host, internal, bridged")]
    [InlineData("network", "ls", "--filter", "nat", "expected KEY=VALUE")]
    [InlineData("network", "ls", "--filter", "network=lab", "unknown filter 'network'")]
    [InlineData("endpoint", "ls", "--filter", "mode=nat", "unknown filter 'mode'")]
    [InlineData("endpoint", "ls", "--filter", "label=", "expected label=KEY or label=KEY=VALUE")]
    [InlineData("network", "prune", "--filter", "name=", "give a name")]
    public void A_bad_filter_is_a_usage_error(string noun, string verb, string option, string value, string message)
    {
        var errors = Errors(Parse(noun, verb, option, value));
        Assert.Contains("--filter: ", errors);
        Assert.Contains(message, errors);
    }

    [Fact]
    public void Prune_takes_no_network_name() => Assert.NotEmpty(Parse("network", "prune", "lab").Errors);

    [Theory]
    [InlineData("y\n", true)]
    [InlineData("YES\n", true)]
    [InlineData(" y \n", true)]
    [InlineData("n\n", false)]
    [InlineData("\n", false)]   // the default is No
    [InlineData("", false)]     // end of input
    [InlineData("yep\n", false)]
    public void Prune_asks_on_a_terminal(string answer, bool confirmed)
    {
        var prompt = new StringWriter();
        Assert.Equal(confirmed, NetworkPruneCommand.Confirm(true, new StringReader(answer), prompt, ListFilter.None));
        Assert.Contains("remove all networks without endpoints, except default", prompt.ToString());
        Assert.EndsWith("[y/N] ", prompt.ToString());
    }

    [Fact]
    public void Prune_without_a_terminal_does_not_ask()
    {
        var prompt = new StringWriter();
        Assert.Null(NetworkPruneCommand.Confirm(false, new StringReader("y\n"), prompt, ListFilter.None));
        Assert.Equal("", prompt.ToString());
    }

    [Fact]
    public void The_prompt_names_the_filter()
    {
        Assert.True(ListFilter.TryParse(["label=team=lab", "mode=internal"], ListFilter.NetworkKeys, out var filter, out _));
        var prompt = new StringWriter();
        NetworkPruneCommand.Confirm(true, new StringReader("n\n"), prompt, filter);
        Assert.Contains("that match label=team=lab mode=internal", prompt.ToString());
    }

    [Fact]
    public void Prune_prints_what_it_removed()
    {
        var output = new StringWriter();
        NetworkPruneCommand.Print(new NetworkPruneResult { Removed = ["a", "b"] }, output);
        Assert.Equal("Removed networks:\na\nb\n", output.ToString().ReplaceLineEndings("\n"));
        output = new StringWriter();
        NetworkPruneCommand.Print(new NetworkPruneResult { Removed = [] }, output);
        Assert.Equal("No networks to remove\n", output.ToString().ReplaceLineEndings("\n"));
    }

    public static TheoryData<string[], string[]> HelpCases => new()
    {
        { ["network", "ls"], ["--filter", "label=KEY=VALUE", "mode=nat|host|internal|bridged", "--format"] },
        { ["endpoint", "ls"], ["--filter", "network=NAME", "--format"] },
        { ["network", "prune"], ["--force", "--filter", "--format", "except default"] },
        { ["network"], ["prune"] },
    };

    [Theory]
    [MemberData(nameof(HelpCases))]
    public void Help_lists_the_options(string[] command, string[] expected)
    {
        var output = new StringWriter();
        int exit = Parse([.. command, "--help"]).Invoke(new InvocationConfiguration { Output = output, Error = new StringWriter() });
        Assert.Equal(0, exit);
        foreach (var e in expected) Assert.Contains(e, output.ToString());
    }
}
