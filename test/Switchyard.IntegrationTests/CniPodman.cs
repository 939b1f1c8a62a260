using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>A [LinuxRootFact] that also needs podman (4.x, CNI backend) and runc. Under CI=true a
/// missing podman fails instead (./test.sh installs it).</summary>
public sealed class PodmanFactAttribute : FactAttribute
{
    public PodmanFactAttribute()
    {
        var root = new LinuxRootFactAttribute();
        if (root.Skip is not null) Skip = root.Skip;
        else if (CniPodman.Missing() is { } missing && !LinuxRootFactAttribute.IsCi) Skip = $"Requires {missing} (./test.sh installs it).";
    }
}

/// <summary>podman on its CNI backend, all of it private to one test: its own storage, run and tmp
/// directories, a containers.conf whose CNI plugin and config directories are this test's (the
/// plugin put there by <c>yard cni install</c>), and a busybox root filesystem (no image, no
/// registry). Containers run with the flags this machine needs (runc, cgroupfs, ulimits). Dispose
/// removes every container it started (podman DELs their networks) and the directory.</summary>
internal sealed class CniPodman : IDisposable
{
    private readonly DirectoryInfo _dir;
    private readonly string _conf;

    public CniPodman()
    {
        _dir = Directory.CreateTempSubdirectory("sy-podman-");
        BinDir = Sub("bin");
        ConfDir = Sub("net.d");
        Rootfs = Sub("rootfs");
        Sub("rootfs/bin");
        Sub("rootfs/etc");
        Sub("rootfs/www/cgi-bin");
        File.Copy("/usr/bin/busybox", Path.Combine(Rootfs, "bin/busybox"));
        // busybox wget -T crashes (Debian 1.35, static): time limits come from the timeout applet.
        foreach (var applet in new[] { "sh", "ping", "httpd", "wget", "nslookup", "sleep", "cat", "timeout" })
            File.CreateSymbolicLink(Path.Combine(Rootfs, "bin", applet), "busybox");
        File.WriteAllText(Path.Combine(Rootfs, "www/index.html"), "inside\n");
        // busybox httpd runs CGI scripts with the client's address in REMOTE_ADDR.
        string cgi = Path.Combine(Rootfs, "www/cgi-bin/ip");
        File.WriteAllText(cgi, "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(cgi, (UnixFileMode)0b111_101_101);
        _conf = Path.Combine(_dir.FullName, "containers.conf");
        // Port reservation off: podman would otherwise bind each -p port itself (to hold it for
        // iptables DNAT) after the plugin's ADD, and find it taken by the daemon's listener.
        File.WriteAllText(_conf, $"""
            [network]
            cni_plugin_dirs = ["{BinDir}"]
            network_config_dir = "{ConfDir}"
            [engine]
            enable_port_reservation = false
            """);
    }

    public string BinDir { get; }
    public string ConfDir { get; }
    public string Rootfs { get; }
    private readonly List<string> _containers = [];

    public static string? Missing()
    {
        foreach (var tool in new[] { "podman", "runc", "busybox" })
            if (!File.Exists($"/usr/bin/{tool}") && !File.Exists($"/usr/sbin/{tool}") && !File.Exists($"/usr/local/bin/{tool}")) return tool;
        return null;
    }

    /// <summary>podman with this test's storage and configuration.</summary>
    public Command.Result Podman(params string[] args) => Podman(60_000, args);

    public Command.Result Podman(int timeoutMs, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("podman")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            Environment = { ["CONTAINERS_CONF"] = _conf },
        };
        foreach (var a in new[]
        {
            "--network-backend", "cni", "--cni-config-dir", ConfDir, "--runtime", "runc", "--cgroup-manager", "cgroupfs",
            "--root", Path.Combine(_dir.FullName, "storage"), "--runroot", Path.Combine(_dir.FullName, "run"),
            "--tmpdir", Path.Combine(_dir.FullName, "tmp"), "--storage-driver", "vfs", "--events-backend", "none",
        }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"podman {string.Join(' ', args)} did not exit within {timeoutMs} ms");
        }
        p.WaitForExit();
        return new Command.Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary><c>podman run</c> of the busybox root filesystem on a network, with the gateway as
    /// its resolver (never the host's); <paramref name="detach"/>: returns once it runs.</summary>
    public Command.Result Run(string name, string network, string dns, bool detach, string[] extra, params string[] command)
    {
        _containers.Add(name);
        return Podman(["run", .. detach ? new[] { "-d" } : ["--rm"], "--name", name, "--network", network, "--dns", dns,
            "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", .. extra, "--rootfs", Rootfs, .. command]);
    }

    private string Sub(string path) => Directory.CreateDirectory(Path.Combine(_dir.FullName, path)).FullName;

    public void Dispose()
    {
        foreach (var name in _containers)
        {
            try { Podman("rm", "-f", "-t", "0", "--ignore", name); } catch (TimeoutException) { }
        }
        try { _dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
