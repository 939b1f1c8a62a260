using System.Diagnostics;
using System.Text.Json;

namespace Switchyard.Testing;

/// <summary>Runs the CNI plugin `switchyard` as a runtime does (CNI spec 1.0, "Execution
/// protocol"): CNI_* variables in the environment, the configuration on stdin, JSON on stdout.</summary>
public static class CniPluginRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public JsonElement Json
        {
            get
            {
                using var doc = JsonDocument.Parse(StdOut);
                return doc.RootElement.Clone();
            }
        }
    }

    /// <summary>The plugin to test: $YARD_CNI_PLUGIN, else the NativeAOT build beside $YARD_NATIVE
    /// (packaging/build-native.sh publishes both), else the build beside the tests (a project reference).</summary>
    public static string PluginPath()
    {
        if (Environment.GetEnvironmentVariable("YARD_CNI_PLUGIN") is { Length: > 0 } given) return given;
        if (Environment.GetEnvironmentVariable("YARD_NATIVE") is { Length: > 0 } native
            && Path.Combine(Path.GetDirectoryName(native)!, "switchyard") is var beside && File.Exists(beside)) return beside;
        return Path.Combine(AppContext.BaseDirectory, "switchyard");
    }

    /// <summary>One invocation; <paramref name="env"/> holds the CNI_* variables (null values are left unset).</summary>
    public static Result Run(string command, IReadOnlyDictionary<string, string?> env, string stdin, string? plugin = null, int timeoutMs = 30_000)
    {
        var psi = new ProcessStartInfo(plugin ?? PluginPath())
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // Nothing of the test process's own CNI_* environment leaks into the call.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("CNI_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        psi.Environment["CNI_COMMAND"] = command;
        foreach (var (k, v) in env)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the CNI plugin");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill();
            process.WaitForExit();
            throw new TimeoutException($"the CNI plugin ({command}) did not exit within {timeoutMs} ms");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
