namespace Switchyard.Client;

/// <summary>
/// The filters of <c>yard network ls|prune --filter</c> and <c>yard endpoint ls --filter</c>, and
/// the API's query parameters they become (<c>GET /networks?label=team=web&amp;mode=nat</c>). The
/// rule is Docker's (<c>docker network ls --filter</c>): terms of different keys must all match;
/// terms of one key match if any does, except <c>label</c>, where every one must (a guest with
/// <c>team=web</c> and <c>tier=db</c> answers <c>label=team=web</c> AND <c>label=tier=db</c>).
/// Pure text to terms and back: the CLI checks a filter with it before any daemon call, and the
/// daemon parses the query and matches with the same code.
/// </summary>
public sealed class ListFilter
{
    /// <summary>label=KEY or label=KEY=VALUE, mode=nat|host|internal|bridged, name=TEXT (a part of the name).</summary>
    public static readonly IReadOnlyList<string> NetworkKeys = ["label", "mode", "name"];

    /// <summary>label=KEY or label=KEY=VALUE, name=TEXT (a part of the name), network=NAME (exactly).</summary>
    public static readonly IReadOnlyList<string> EndpointKeys = ["label", "name", "network"];

    private static readonly IReadOnlyList<string> Modes = ["nat", "host", "internal", "bridged"];

    private readonly List<KeyValuePair<string, string>> _terms;

    private ListFilter(List<KeyValuePair<string, string>> terms) => _terms = terms;

    public static ListFilter None { get; } = new([]);

    public IReadOnlyList<KeyValuePair<string, string>> Terms => _terms;

    public bool IsEmpty => _terms.Count == 0;

    /// <summary>Parses the CLI's KEY=VALUE texts; false with a one-line <paramref name="error"/>.</summary>
    public static bool TryParse(IEnumerable<string>? texts, IReadOnlyList<string> keys, out ListFilter filter, out string error)
    {
        var terms = new List<KeyValuePair<string, string>>();
        foreach (var text in texts ?? [])
        {
            int eq = text.IndexOf('=');
            if (eq <= 0)
            {
                filter = None;
                error = $"invalid filter '{text}': expected KEY=VALUE with KEY one of {string.Join(", ", keys)}";
                return false;
            }
            terms.Add(new(text[..eq], text[(eq + 1)..]));
        }
        return TryCreate(terms, keys, out filter, out error);
    }

    /// <summary>Checks terms as the API receives them (query parameters); false with a one-line <paramref name="error"/>.</summary>
    public static bool TryCreate(IEnumerable<KeyValuePair<string, string>> terms, IReadOnlyList<string> keys, out ListFilter filter, out string error)
    {
        filter = None;
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in terms)
        {
            if (!keys.Contains(key)) { error = $"unknown filter '{key}': filters are {string.Join(", ", keys)}"; return false; }
            string? problem = key switch
            {
                "label" when value.Length == 0 || value[0] == '=' => $"invalid filter 'label={value}': expected label=KEY or label=KEY=VALUE",
                "mode" when !Modes.Contains(value) => $"invalid filter 'mode={value}': a mode is {string.Join(", ", Modes)}",
                "name" or "network" when value.Length == 0 => $"invalid filter '{key}=': give a name",
                _ => null,
            };
            if (problem is not null) { error = problem; return false; }
            list.Add(new(key, value));
        }
        filter = list.Count == 0 ? None : new ListFilter(list);
        error = "";
        return true;
    }

    /// <summary>The filter as a query string ("" or "?label=team%3Dweb&amp;mode=nat").</summary>
    public string ToQuery() => _terms.Count == 0 ? ""
        : "?" + string.Join("&", _terms.Select(t => $"{Uri.EscapeDataString(t.Key)}={Uri.EscapeDataString(t.Value)}"));

    /// <summary>Whether a network or endpoint passes. <paramref name="mode"/> is null for an endpoint,
    /// <paramref name="network"/> null for a network.</summary>
    public bool Matches(string name, string? mode, string? network, IReadOnlyDictionary<string, string>? labels)
    {
        // Keys in the order given; each key's terms judged together.
        foreach (var group in _terms.GroupBy(t => t.Key))
        {
            bool pass = group.Key switch
            {
                "label" => group.All(t => HasLabel(labels, t.Value)),
                "mode" => group.Any(t => t.Value == mode),
                "name" => group.Any(t => name.Contains(t.Value, StringComparison.Ordinal)),
                "network" => group.Any(t => t.Value == network),
                _ => false,
            };
            if (!pass) return false;
        }
        return true;
    }

    /// <summary>label=KEY: the label is set (any value); label=KEY=VALUE: it has that value.</summary>
    private static bool HasLabel(IReadOnlyDictionary<string, string>? labels, string term)
    {
        if (labels is null) return false;
        int eq = term.IndexOf('=');
        if (eq < 0) return labels.ContainsKey(term);
        return labels.TryGetValue(term[..eq], out var value) && value == term[(eq + 1)..];
    }

    public override string ToString() => string.Join(" ", _terms.Select(t => $"{t.Key}={t.Value}"));
}
