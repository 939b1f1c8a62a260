using Switchyard.Daemon.Control;

namespace Switchyard.Daemon.Planning;

/// <summary>What a label of a network or an endpoint may be. Labels are the caller's notes (the
/// Docker driver and the CNI plugin keep their IDs in them) and are matched by <c>--filter
/// label=KEY=VALUE</c>: a key holds no '=' (the filter could not name it) and no white space or
/// control characters (it could not be typed or printed on one line); the sizes keep a state row
/// and a listing readable.</summary>
public static class LabelRules
{
    /// <summary>The label of a network another runtime made and owns (the Docker driver sets it to
    /// <c>docker</c>): prune keeps such a network, which that runtime still counts on; it goes with
    /// the runtime's own remove (<c>docker network rm</c>).</summary>
    public const string CreatedBy = "switchyard.created-by";

    public const int MaxLabels = 64;
    public const int MaxKeyLength = 128;
    public const int MaxValueLength = 1024;

    /// <summary>Throws <see cref="ControlError.Invalid"/> naming the first label that breaks a rule.</summary>
    public static void Check(IReadOnlyDictionary<string, string>? labels, string owner)
    {
        if (labels is null) return;
        if (labels.Count > MaxLabels) throw ControlException.Invalid($"{owner} has {labels.Count} labels; at most {MaxLabels}");
        foreach (var (key, value) in labels)
        {
            if (key.Length == 0 || key.Length > MaxKeyLength || key.Contains('=') || key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                throw ControlException.Invalid($"invalid label key '{Printable(key)}': 1-{MaxKeyLength} characters, no '=', spaces or control characters");
            if (value is null || value.Length > MaxValueLength || value.Any(char.IsControl))
                throw ControlException.Invalid($"invalid value of label '{key}': at most {MaxValueLength} characters, no control characters");
        }
    }

    private static string Printable(string text) => new(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
