using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary>How commands print: tables for people, JSON (--format json) for scripts, and every
/// error as one "yard: ..." line on stderr with exit code 1.</summary>
internal static class Output
{
    public static System.CommandLine.Option<string> FormatOption() => new("--format")
    {
        Description = "Output format: table or json",
        DefaultValueFactory = _ => "table",
        Validators = { r => { var v = r.GetValueOrDefault<string>(); if (v is not ("table" or "json")) r.AddError($"--format must be table or json, not '{v}'"); } },
    };

    public static void Json<T>(T value, JsonTypeInfo<T> type) => Console.Out.WriteLine(JsonSerializer.Serialize(value, type));

    public static void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { headers };
        all.AddRange(rows);
        var widths = new int[headers.Count];
        foreach (var r in all)
            for (int i = 0; i < r.Count; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        foreach (var r in all)
        {
            for (int i = 0; i < r.Count; i++)
            {
                sb.Append(r[i]);
                if (i < r.Count - 1) sb.Append(' ', widths[i] - r[i].Length + 3);
            }
            Console.Out.WriteLine(sb.ToString().TrimEnd());
            sb.Clear();
        }
    }

    public static int Error(string message)
    {
        Console.Error.WriteLine($"yard: {message}");
        return 1;
    }

    /// <summary>Runs a client call, turning the daemon's refusals into one-line errors.</summary>
    public static async Task<int> WithClient(System.CommandLine.ParseResult parse, Func<SwitchyardClient, Task<int>> action)
    {
        using var client = new SwitchyardClient(parse.GetValue(YardCommand.Socket));
        try
        {
            return await action(client);
        }
        catch (SwitchyardApiException e) { return Error(e.Message); }
        catch (SwitchyardUnavailableException e) { return Error(e.Message); }
        catch (ArgumentException e) { return Error(e.Message); }
    }

    public static IReadOnlyDictionary<string, string>? ParseLabels(string[]? labels)
    {
        if (labels is null || labels.Length == 0) return null;
        var d = new Dictionary<string, string>();
        foreach (var l in labels)
        {
            int eq = l.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"invalid label '{l}': expected KEY=VALUE");
            d[l[..eq]] = l[(eq + 1)..];
        }
        return d;
    }
}
