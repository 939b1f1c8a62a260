using System.Diagnostics;
using System.Text;

namespace Switchyard.Testing;

/// <summary>
/// A long-running helper a test starts (a server: nginx, iperf3, a python script), usually through
/// `ip netns exec`, which execs the program so the PID is the program's own. Its stdout and stderr are collected
/// for failure messages; Dispose kills it by that PID (SIGKILL, the process only, never by name) and waits for it.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _disposed;

    private ChildProcess(Process process, string description)
    {
        _process = process;
        Description = description;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="file"/> with its output collected and its stdin a pipe nobody writes to (a
    /// child must never read the test runner's stdin: QEMU's monitor would).</summary>
    public static ChildProcess Start(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        return new ChildProcess(process, $"{file} {string.Join(' ', psi.ArgumentList)}");
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Description { get; }
    /// <summary>Its stdout and stderr so far.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Throws with the program's output when it has already exited (a server that failed to start).</summary>
    public void ThrowIfExited()
    {
        if (_process.HasExited)
            throw new InvalidOperationException($"'{Description}' exited with {_process.ExitCode}: {Output.Trim()}");
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
