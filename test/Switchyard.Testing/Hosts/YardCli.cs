using System.Text.Json;

namespace Switchyard.Testing;

/// <summary>The real CLI (yard.dll beside the test assembly: a test project that references
/// Switchyard.Cli gets it copied there) against one daemon's socket, so multi-host tests speak the
/// documented command line (docs/multi-host.md) rather than the client library's models.</summary>
public sealed class YardCli(string socketPath)
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "yard.dll");

    public string SocketPath { get; } = socketPath;

    /// <summary>`yard --socket SOCKET args...`; throws with stderr on a non-zero exit when <paramref name="check"/>.</summary>
    public Command.Result Run(IEnumerable<string> args, bool check = true, int timeoutMs = 60_000)
    {
        if (!File.Exists(Dll)) throw new InvalidOperationException($"{Dll} is missing: the test project must reference Switchyard.Cli");
        return Command.Run("dotnet", [Dll, "--socket", SocketPath, .. args], check, timeoutMs);
    }

    public Command.Result Run(params string[] args) => Run(args, check: true);

    /// <summary>A command that prints JSON (`network inspect`, `... --format json`), parsed.</summary>
    public JsonElement Json(params string[] args)
    {
        var r = Run(args);
        using var doc = JsonDocument.Parse(r.StdOut);
        return doc.RootElement.Clone();
    }
}
