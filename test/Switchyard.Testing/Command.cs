using System.Diagnostics;
using System.Text.Json;

namespace Switchyard.Testing;

/// <summary>Runs helper programs (ip, ping) as child processes with a timeout; never leaves them running.</summary>
public static class Command
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(string file, IEnumerable<string> args, bool check = true, int timeoutMs = 10_000)
    {
        using var process = Start(file, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{Describe(file, args)} did not exit within {timeoutMs} ms");
        }
        process.WaitForExit(); // flush async output readers
        var result = new Result(process.ExitCode, stdout.Result, stderr.Result);
        if (check && result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Describe(file, args)} exited with {result.ExitCode}: {result.StdErr.Trim()}");
        }
        return result;
    }

    public static JsonElement RunJson(string file, IEnumerable<string> args)
    {
        var output = Run(file, args).StdOut;
        using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(output) ? "[]" : output);
        return doc.RootElement.Clone();
    }

    /// <summary>Starts a process with redirected output; the caller disposes it (and kills it if still running).</summary>
    public static Process Start(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static string Describe(string file, IEnumerable<string> args) => $"'{file} {string.Join(' ', args)}'";
}
