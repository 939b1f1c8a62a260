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

    /// <summary>A server in this namespace (`ip netns exec NAME program args...`), killed by its PID on Dispose.</summary>
    public ChildProcess StartServer(string program, params string[] args) =>
        ChildProcess.Start("ip", ["netns", "exec", Name, program, .. args]);

    /// <summary>
    /// Waits (polling `ss -Hlntu` in the namespace, at most <paramref name="timeout"/>) until something listens on every
    /// TCP port in <paramref name="tcp"/> and is bound to every UDP port in <paramref name="udp"/>. Readiness without
    /// connecting, so a server that counts its clients (iperf3) never sees a probe. <paramref name="servers"/> are
    /// checked on each round: one that exited fails at once with its output.
    /// </summary>
    public void WaitForListening(IEnumerable<int> tcp, IEnumerable<int> udp, TimeSpan timeout, params ChildProcess[] servers)
    {
        var wantTcp = tcp.ToHashSet();
        var wantUdp = udp.ToHashSet();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            foreach (var s in servers) s.ThrowIfExited();
            var listening = Command.Run("ip", ["netns", "exec", Name, "ss", "-Hlntu"], check: false).StdOut;
            var haveTcp = new HashSet<int>();
            var haveUdp = new HashSet<int>();
            foreach (var line in listening.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                // Netid State Recv-Q Send-Q Local:Port Peer:Port
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 5) continue;
                int colon = f[4].LastIndexOf(':');
                if (colon < 0 || !int.TryParse(f[4].AsSpan(colon + 1), out int port)) continue;
                (f[0] == "tcp" ? haveTcp : haveUdp).Add(port);
            }
            if (wantTcp.IsSubsetOf(haveTcp) && wantUdp.IsSubsetOf(haveUdp)) return;
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"in {Name}, not listening after {timeout}: tcp {string.Join(',', wantTcp.Except(haveTcp))} udp {string.Join(',', wantUdp.Except(haveUdp))}; "
                    + string.Join("; ", servers.Select(s => $"{s.Description}: {s.Output.Trim()}")));
            Thread.Sleep(50);
        }
    }

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
