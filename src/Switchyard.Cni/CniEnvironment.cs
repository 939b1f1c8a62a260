namespace Switchyard.Cni;

/// <summary>What the runtime passes in the environment (CNI spec 1.0, "Parameters"): the command,
/// the container, its network namespace, the interface to create, extra arguments and the plugin path.</summary>
internal sealed record CniEnvironment(string? Command, string? ContainerId, string? Netns, string? Ifname,
    string? ArgsText, string? Path)
{
    /// <summary>CNI_ARGS, parsed when first needed so a malformed value is reported as an error object.</summary>
    public IReadOnlyDictionary<string, string> Args => ParseArgs(ArgsText);

    public static CniEnvironment From(Func<string, string?> get) => new(
        Empty(get("CNI_COMMAND")), Empty(get("CNI_CONTAINERID")), Empty(get("CNI_NETNS")), Empty(get("CNI_IFNAME")),
        Empty(get("CNI_ARGS")), Empty(get("CNI_PATH")));

    public static CniEnvironment FromProcess() => From(Environment.GetEnvironmentVariable);

    /// <summary>The container's name as the runtime tells it: podman passes <c>K8S_POD_NAME</c> in
    /// CNI_ARGS, set to the container's name. Not under Kubernetes (which also passes
    /// <c>K8S_POD_NAMESPACE</c>): pod names are unique per namespace only, so two pods could claim
    /// one DNS name and the second would fail to start; the cluster's own DNS names pods there.</summary>
    public string? ContainerName =>
        Args.TryGetValue("K8S_POD_NAME", out var n) && n.Length > 0 && !Args.ContainsKey("K8S_POD_NAMESPACE") ? n : null;

    /// <summary>CNI_ARGS: <c>KEY=VALUE</c> pairs separated by ';' (spec: "alphanumeric key-value
    /// pairs separated by semi-colons"). A pair without '=' is malformed input: error 4.</summary>
    public static IReadOnlyDictionary<string, string> ParseArgs(string? text)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(text)) return args;
        foreach (var pair in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new CniException(CniErrors.InvalidEnvironment, "invalid CNI_ARGS", $"'{pair}' is not KEY=VALUE");
            args[pair[..eq]] = pair[(eq + 1)..];
        }
        return args;
    }

    /// <summary>The variable, or error 4 naming it when the runtime left it out.</summary>
    public static string Require(string? value, string name) =>
        value ?? throw new CniException(CniErrors.InvalidEnvironment, $"{name} is required", $"the runtime must set {name} for this command");

    private static string? Empty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
