using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Switchyard.Client;
using Switchyard.Testing;
using Xunit.Abstractions;

namespace Switchyard.IntegrationTests.Vm;

/// <summary>
/// A real Linux guest (Debian 12's kernel, virtio-net, a busybox initramfs built by test/vm/build-vm.sh) booted under
/// QEMU TCG on a stream endpoint: the exact <c>-netdev stream</c> wire, a real virtio-net driver, real udhcpc and ping.
/// </summary>
public sealed partial class RealVmTests(ITestOutputHelper output)
{
    private static readonly TimeSpan VmBudget = TimeSpan.FromSeconds(60);

    [LinuxRootFact]
    public async Task A_qemu_guest_on_a_stream_endpoint_gets_its_lease_and_pings_a_namespace_guest_by_name()
    {
        string image = BuildImage();

        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        using var alpha = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
        var leaseA = alpha.Dhcp();
        Assert.Equal(alpha.Endpoint.Ipv4, leaseA["ip"]);

        string sock = Path.Combine(daemon.Directory, "vm1.sock");
        await daemon.Client.AttachEndpointAsync(net.Name, new EndpointAttachRequest
        {
            Name = "vm1",
            Transport = new TransportSpec { Kind = "stream", Listen = sock },
        });
        var vm1 = await daemon.Client.GetEndpointAsync(net.Name, "vm1");

        using var qemu = new QemuConsole(output, [
            "-machine", "q35", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot",
            "-kernel", Path.Combine(image, "vmlinuz"), "-initrd", Path.Combine(image, "initramfs.cpio.gz"),
            "-append", "console=ttyS0 quiet panic=-1 yard.peer=alpha yard.linger=8",
            "-netdev", $"stream,id=n0,server=off,addr.type=unix,addr.path={sock}",
            "-device", $"virtio-net-pci,netdev=n0,mac={vm1.Mac},romfile=",
        ]);
        using var budget = new CancellationTokenSource(VmBudget);

        string lease = await qemu.WaitForAsync(LeaseLine(), "SWITCHYARD-DHCP-FAIL", budget.Token);
        var leaseAt = qemu.Elapsed;
        Assert.Equal($"SWITCHYARD-LEASE {vm1.Ipv4}", LeaseLine().Match(lease).Value);

        // While the VM lingers (yard.linger): the namespace guest reaches it by its endpoint name through the network's DNS.
        Assert.True(alpha.Ping("vm1", count: 2), "alpha -> vm1 by name");

        string ping = await qemu.WaitForAsync(PingLine(), null, budget.Token);
        var pingAt = qemu.Elapsed;
        Assert.Equal("SWITCHYARD-PING-OK", PingLine().Match(ping).Value);

        await qemu.WaitForAsync(DoneLine(), null, budget.Token);
        bool exited = await qemu.WaitForExitAsync(budget.Token);
        output.WriteLine($"qemu: lease after {leaseAt.TotalSeconds:F1} s, ping result after {pingAt.TotalSeconds:F1} s, " +
            $"exit after {qemu.Elapsed.TotalSeconds:F1} s (exited: {exited})");

        var after = await daemon.Client.GetEndpointAsync(net.Name, "vm1");
        Assert.Equal("bound", after.Lease?.State);
        Assert.Equal(0, after.Transport.ProtocolErrors ?? 0);
        Assert.True(after.Transport.Connects >= 1, "the VM connected to the stream socket");
    }

    /// <summary>Runs test/vm/build-vm.sh into a cache next to the kernel package; fails (never skips) when it cannot.</summary>
    private string BuildImage()
    {
        string script = FindScript();
        string image = Path.Combine(Environment.GetEnvironmentVariable("SWITCHYARD_VM_CACHE") ?? "/var/cache/switchyard-test-vm", "image");
        var sw = Stopwatch.StartNew();
        var result = Command.Run("/bin/sh", [script, image], check: false, timeoutMs: 600_000);
        output.WriteLine($"build-vm.sh: {sw.Elapsed.TotalSeconds:F1} s {result.StdErr.Trim()}");
        Assert.True(result.ExitCode == 0,
            $"test/vm/build-vm.sh failed with {result.ExitCode} (it needs apt access to Debian's archive for busybox-static, " +
            $"qemu-system-x86 and the linux-image package): {result.StdErr.Trim()}");
        return image;
    }

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "test", "vm", "build-vm.sh");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("test/vm/build-vm.sh not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"SWITCHYARD-LEASE \S+")]
    private static partial Regex LeaseLine();

    [GeneratedRegex(@"SWITCHYARD-PING-(OK|FAIL)")]
    private static partial Regex PingLine();

    [GeneratedRegex(@"SWITCHYARD-DONE")]
    private static partial Regex DoneLine();

    /// <summary>QEMU with its serial console on stdout, read line by line. Dispose kills it (by PID) if still running
    /// and writes the console to the test output.</summary>
    private sealed class QemuConsole : IDisposable
    {
        private readonly ITestOutputHelper _output;
        private readonly Process _process;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly SemaphoreSlim _changed = new(0);
        private readonly Task _stdout, _stderr;
        private readonly System.Text.StringBuilder _err = new();

        public QemuConsole(ITestOutputHelper output, IEnumerable<string> args)
        {
            _output = output;
            var psi = new ProcessStartInfo("qemu-system-x86_64")
            {
                RedirectStandardInput = true, // nothing typed on the console; keeps the test host's stdin out of it
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in args) psi.ArgumentList.Add(a);
            _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start qemu-system-x86_64");
            _stdout = Task.Run(async () =>
            {
                while (await _process.StandardOutput.ReadLineAsync() is { } line)
                {
                    _lines.Enqueue($"[{_clock.Elapsed.TotalSeconds,6:F2}] {line.TrimEnd('\r')}");
                    _changed.Release();
                }
                _changed.Release();
            });
            _stderr = Task.Run(async () =>
            {
                string rest = await _process.StandardError.ReadToEndAsync();
                lock (_err) _err.Append(rest);
            });
        }

        public TimeSpan Elapsed => _clock.Elapsed;

        /// <summary>Waits for a console line matching <paramref name="pattern"/>; fails on <paramref name="failure"/>,
        /// on QEMU's exit and on the budget.</summary>
        public async Task<string> WaitForAsync(Regex pattern, string? failure, CancellationToken ct)
        {
            int seen = 0;
            while (true)
            {
                var lines = _lines.ToArray();
                for (; seen < lines.Length; seen++)
                {
                    if (pattern.IsMatch(lines[seen])) return lines[seen];
                    if (failure is not null && lines[seen].Contains(failure, StringComparison.Ordinal))
                        Assert.Fail($"the VM reported {failure}:\n{Transcript()}");
                }
                if (_stdout.IsCompleted && _lines.Count == seen)
                    Assert.Fail($"qemu exited ({ExitCode()}) before '{pattern}':\n{Transcript()}");
                try { await _changed.WaitAsync(TimeSpan.FromSeconds(1), ct); }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"no '{pattern}' within the VM budget ({_clock.Elapsed.TotalSeconds:F0} s):\n{Transcript()}");
                }
            }
        }

        public async Task<bool> WaitForExitAsync(CancellationToken ct)
        {
            try { await _process.WaitForExitAsync(ct); return true; }
            catch (OperationCanceledException) { return false; }
        }

        private string ExitCode() => _process.HasExited ? $"exit code {_process.ExitCode}" : "still running";

        private string Transcript()
        {
            string err;
            lock (_err) err = _err.ToString();
            return string.Join('\n', _lines) + (err.Length > 0 ? "\nstderr: " + err : "");
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(); // this PID only: QEMU has no children
                    _process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException) { }
            Task.WaitAll([_stdout, _stderr], TimeSpan.FromSeconds(5));
            _output.WriteLine(Transcript());
            _process.Dispose();
            _changed.Dispose();
        }
    }
}
