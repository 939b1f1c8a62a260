using System.Diagnostics;

namespace Switchyard.Testing;

/// <summary>Prometheus' own checker (Debian package <c>prometheus</c>): <c>promtool check metrics</c>
/// parses an exposition from stdin and lints it against the naming and format conventions.</summary>
public static class Promtool
{
    /// <summary>Finds a program on PATH, or fails with what to install: a missing tool must fail the
    /// test that needs it, never let it pass unnoticed.</summary>
    public static string Require(string program, string package)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, program);
            if (File.Exists(path)) return path;
        }
        throw new InvalidOperationException($"{program} is not installed: install the Debian package '{package}' (./test.sh installs it)");
    }

    /// <summary>Runs <c>promtool check metrics</c> on <paramref name="exposition"/>: exit code 0 and no
    /// output when it parses and lints clean (1 for a parse error, 3 for lint problems, listed on stderr).</summary>
    public static Command.Result CheckMetrics(string exposition)
    {
        var psi = new ProcessStartInfo(Require("promtool", "prometheus"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("check");
        psi.ArgumentList.Add("metrics");
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start promtool");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(exposition);
        process.StandardInput.Close();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            process.WaitForExit();
            throw new TimeoutException("promtool check metrics did not exit within 30 s");
        }
        process.WaitForExit();
        return new Command.Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
