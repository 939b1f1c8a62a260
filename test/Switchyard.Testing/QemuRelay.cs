using System.Diagnostics;

namespace Switchyard.Testing;

/// <summary>
/// A VM stand-in that needs no guest image: `qemu-system-x86_64 -M none` in a fresh <see cref="TestNamespace"/>, its
/// netdev hub joining a TAP device (tap0, inside the namespace) to a socket netdev (id s0: stream, dgram, or a handed-over
/// fd). Whatever the namespace sends on tap0 leaves through the socket exactly as a VM's NIC would send it. Start waits
/// for tap0 and brings it up; Dispose kills QEMU by its PID and deletes the namespace and the scratch directory.
/// </summary>
public sealed class QemuRelay : IDisposable
{
    public const string Interface = "tap0";
    private readonly ChildProcess _process;
    private readonly string _scratch;
    private int _disposed;

    private QemuRelay(TestNamespace ns, ChildProcess process, string scratch)
    {
        Namespace = ns;
        _process = process;
        _scratch = scratch;
    }

    public TestNamespace Namespace { get; }

    /// <summary>QEMU's major version (from `qemu-system-x86_64 --version`). -netdev stream takes reconnect= from 8.0 on.</summary>
    public static int MajorVersion { get; } = ReadMajorVersion();

    private static int ReadMajorVersion()
    {
        var r = Command.Run("qemu-system-x86_64", ["--version"], check: false);
        var m = System.Text.RegularExpressions.Regex.Match(r.StdOut, @"version (\d+)\.");
        return m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }
    public int Pid => _process.Pid;
    public bool HasExited => _process.HasExited;
    /// <summary>QEMU's (or the launcher's) stdout and stderr so far, for assertion messages.</summary>
    public string Output => _process.Output;

    /// <summary>Starts QEMU with <c>-netdev <paramref name="socketNetdev"/></c> (which must say id=s0). A
    /// <paramref name="launcher"/> (e.g. `dotnet yard.dll connect NET NAME --`) runs inside the namespace and execs
    /// QEMU, so the PID stays QEMU's.</summary>
    public static QemuRelay Start(string socketNetdev, IReadOnlyList<string>? launcher = null) => Start(socketNetdev, launcher, inHostNamespace: false);

    /// <summary>Like <see cref="Start(string, IReadOnlyList{string}?)"/>, but QEMU itself runs in the host's network
    /// namespace, so its UDP sockets share loopback with the daemon (-netdev dgram/socket with inet addresses). QEMU
    /// makes its TAP in the host's namespace under a unique name; the TAP is then moved into the test's namespace and
    /// renamed tap0 (QEMU's fd keeps working across the move).</summary>
    public static QemuRelay StartInHostNamespace(string socketNetdev) => Start(socketNetdev, null, inHostNamespace: true);

    private static QemuRelay Start(string socketNetdev, IReadOnlyList<string>? launcher, bool inHostNamespace)
    {
        var ns = TestNamespace.Create("sy-qemu");
        string scratch = Directory.CreateTempSubdirectory("sy-q-").FullName;
        ChildProcess? process = null;
        try
        {
            string tap = inHostNamespace ? "syq" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(5)).ToLowerInvariant() : Interface;
            string[] qemu =
            [
                "qemu-system-x86_64", "-M", "none", "-nographic", "-nodefaults",
                "-netdev", $"tap,id=t0,ifname={tap},script=no,downscript=no",
                "-netdev", socketNetdev,
                "-netdev", "hubport,id=h0,hubid=0,netdev=t0",
                "-netdev", "hubport,id=h1,hubid=0,netdev=s0",
            ];
            process = inHostNamespace ? ChildProcess.Start(qemu[0], qemu[1..]) : ChildProcess.Start("ip", ["netns", "exec", ns.Name, .. launcher ?? [], .. qemu]);
            var relay = new QemuRelay(ns, process, scratch);
            try
            {
                if (inHostNamespace)
                {
                    relay.WaitForTap(tap, inTestNamespace: false);
                    Command.Run("ip", ["link", "set", tap, "netns", ns.Name]);
                    ns.Ip("link", "set", tap, "name", Interface);
                }
                else relay.WaitForTap(Interface, inTestNamespace: true);
                ns.Ip("link", "set", Interface, "up");
                return relay;
            }
            catch
            {
                relay.Dispose();
                throw;
            }
        }
        catch when (process is null)
        {
            ns.Dispose();
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    private void WaitForTap(string name, bool inTestNamespace)
    {
        var deadline = Stopwatch.StartNew();
        for (int i = 0; i < 300 && deadline.Elapsed < TimeSpan.FromSeconds(30); i++)
        {
            if (_process.HasExited) throw new InvalidOperationException($"QEMU exited with {_process.ExitCode}: {Output}");
            if (Command.Run("ip", [.. inTestNamespace ? new[] { "-n", Namespace.Name } : [], "link", "show", name], check: false).ExitCode == 0) return;
            Thread.Sleep(100);
        }
        throw new TimeoutException($"{name} did not appear{(inTestNamespace ? " in " + Namespace.Name : "")}: {Output}");
    }

    /// <summary>DHCP on tap0 through QEMU; returns udhcpc's environment (ip, router, dns, ...).</summary>
    public IReadOnlyDictionary<string, string> Dhcp() => Udhcpc.Run(Namespace.Name, Interface, _scratch);

    public Command.Result TryExec(int timeoutMs, string program, params string[] args) =>
        Command.Run("ip", ["netns", "exec", Namespace.Name, program, .. args], check: false, timeoutMs: timeoutMs);

    /// <summary>`ping` behind QEMU; true when every one of <paramref name="count"/> replies came back (<see cref="Testing.Ping"/>).</summary>
    public bool Ping(string target, int count = 2) =>
        TryExec(30_000, "ping", Testing.Ping.ExpectingReplies(target, count)).ExitCode == 0;

    /// <summary>`dig` behind QEMU with bounded retries; returns stdout.</summary>
    public string Dig(params string[] args) => TryExec(20_000, "dig", ["+time=2", "+tries=2", .. args]).StdOut.Trim();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _process.Dispose();
        Namespace.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }
}
