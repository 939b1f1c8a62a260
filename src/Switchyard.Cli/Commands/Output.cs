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

    /// <summary>An option's parser for a number in [min, max]. A parser rather than a validator: a
    /// validator that reads the value throws on text that is no number ("--limit abc").</summary>
    public static Func<System.CommandLine.Parsing.ArgumentResult, T> NumberIn<T>(string option, T min, T max, string unit = "")
        where T : System.Numerics.INumber<T> => r =>
    {
        string text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        if (T.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && value >= min && value <= max) return value;
        r.AddError($"{option} must be {min}-{max}{unit}, not '{text}'");
        return min;
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
