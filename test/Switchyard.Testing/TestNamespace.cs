using System.Security.Cryptography;
using System.Text.Json;

namespace Switchyard.Testing;

/// <summary>
/// A throwaway named network namespace (`ip netns add sy-test-XXXXXXXX`), deleted on Dispose together with its
/// /etc/netns/NAME overlay. Everything inside (TAP devices, routes, neighbours) dies with the namespace.
/// Create one per test (using var ns = TestNamespace.Create()) so tests can run in parallel.
/// </summary>
public sealed class TestNamespace : IDisposable
{
    private int _disposed;

    private TestNamespace(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>/run/netns/NAME, what setns() opens.</summary>
    public string Path => $"/run/netns/{Name}";

    public static TestNamespace Create(string prefix = "sy-test")
    {
        var name = $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        Command.Run("ip", ["netns", "add", name]);
        return new TestNamespace(name);
    }

    /// <summary>`ip -n NAME args...`; throws on a non-zero exit.</summary>
    public Command.Result Ip(params string[] args) => Command.Run("ip", ["-n", Name, .. args]);

    /// <summary>`ip -n NAME -j args...` parsed as JSON.</summary>
    public JsonElement IpJson(params string[] args) => Command.RunJson("ip", ["-n", Name, "-j", .. args]);

    /// <summary>`ip netns exec NAME program args...`.</summary>
    public Command.Result Exec(string program, params string[] args) =>
        Command.Run("ip", ["netns", "exec", Name, program, .. args]);

    public System.Diagnostics.Process StartExec(string program, params string[] args) =>
        Command.Start("ip", ["netns", "exec", Name, program, .. args]);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Best effort: a failing cleanup must not hide the test's own failure.
        Command.Run("ip", ["netns", "del", Name], check: false);
        var etc = $"/etc/netns/{Name}";
        if (Directory.Exists(etc))
        {
            Directory.Delete(etc, recursive: true);
        }
    }
}
