using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary><c>--filter KEY=VALUE</c> of the listings and prune, checked at parse time with the
/// daemon's own rules (<see cref="ListFilter"/>), so a malformed one is a usage error before any
/// daemon call.</summary>
internal static class ListOptions
{
    /// <summary>--filter, repeatable, with the keys of one kind of thing (<see cref="ListFilter.NetworkKeys"/>, <see cref="ListFilter.EndpointKeys"/>).</summary>
    /// <param name="shortAlias">-f, as docker's listings have it (prune's -f is --force, as docker's is).</param>
    public static Option<string[]> Filter(IReadOnlyList<string> keys, string help, bool shortAlias = true)
    {
        var option = new Option<string[]>("--filter") { Description = help, HelpName = "KEY=VALUE" };
        if (shortAlias) option.Aliases.Add("-f");
        option.Validators.Add(r =>
        {
            if (!ListFilter.TryParse(r.GetValueOrDefault<string[]>(), keys, out _, out var error)) r.AddError("--filter: " + error);
        });
        return option;
    }

    /// <summary>The filter given (validated at parse time, so it parses).</summary>
    public static ListFilter Read(ParseResult parse, Option<string[]> option, IReadOnlyList<string> keys) =>
        ListFilter.TryParse(parse.GetValue(option), keys, out var filter, out var error) ? filter : throw new ArgumentException(error);

    public const string NetworkFilterHelp = "Only networks that match, repeatable: label=KEY or label=KEY=VALUE (every label given must match), "
        + "mode=nat|host|internal|bridged, name=TEXT (a part of the name); different keys must all match, like docker network ls --filter";

    public const string EndpointFilterHelp = "Only endpoints that match, repeatable: label=KEY or label=KEY=VALUE (every label given must match), "
        + "network=NAME, name=TEXT (a part of the name); different keys must all match";
}
