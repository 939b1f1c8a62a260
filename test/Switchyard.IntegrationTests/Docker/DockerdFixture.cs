using System.Security.Cryptography;
using Switchyard.Client;
using Switchyard.Daemon;
using Switchyard.Daemon.Docker;
using Switchyard.Testing;
using Microsoft.AspNetCore.Builder;

namespace Switchyard.IntegrationTests.Docker;

/// <summary>
/// One dockerd 20.10 for a test class, as this machine runs it (docs/integrations.md, "Docker"): no iptables, no
/// bridge, vfs storage, its own data and exec roots, pidfile and API socket in a temp directory; an image imported
/// from a busybox rootfs (no registry); and a Switchyard daemon in-process serving the driver on a socket of its
/// own in /run/docker/plugins (dockerd looks nowhere else), under a unique driver name. Dispose removes the
/// containers and networks, stops dockerd by its PID (SIGTERM: it unmounts and stops its containerd), stops the
/// daemon, removes the plugin socket and deletes the directory.
/// </summary>
public sealed class DockerdFixture : IAsyncLifetime
{
    public const string Client = "/usr/bin/docker";
    public const string Image = "sy-busybox:1";
    public static string? Dockerd => new[] { "/usr/bin/dockerd", "/usr/sbin/dockerd" }.FirstOrDefault(File.Exists);

    private ChildProcess? _dockerd;
    private WebApplication? _daemon;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("sy-dk-").FullName;
    public string DockerSocket => Path.Combine(Directory, "docker.sock");
    /// <summary>The driver's name (<c>docker network create -d</c>): unique per fixture.</summary>
    public string Driver { get; } = "sy-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    public string PluginSocket => $"/run/docker/plugins/{Driver}.sock";
    public string YardSocket => Path.Combine(Directory, "yard.sock");
    public SwitchyardClient Yard { get; private set; } = null!;
    public string StateDirectory => Path.Combine(Directory, "state");

    public async Task InitializeAsync()
    {
        try
        {
            StartDockerd();
            await Eventually.UntilAsync(() => Docker(["version", "--format", "{{.Server.Version}}"], check: false).ExitCode == 0,
                TimeSpan.FromSeconds(60), () => "dockerd did not answer: " + _dockerd!.Output);
            ImportImage();
            await StartDaemonAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the docker client against this dockerd.</summary>
    public Command.Result Docker(IEnumerable<string> args, bool check = true, int timeoutMs = 60_000) =>
        Command.Run(Client, ["-H", "unix://" + DockerSocket, .. args], check, timeoutMs);

    /// <summary>Runs a shell command line in a running container. (Debian's static busybox wget dies of SIGSEGV
    /// with -T: bound it with `timeout` instead.)</summary>
    public Command.Result Exec(string container, string script) => Docker(["exec", container, "sh", "-c", script], check: false);

    /// <summary>Starts a container on <paramref name="network"/> that resolves through our gateway (Docker's embedded
    /// DNS forwards there), running <paramref name="command"/> (default: sleep); returns its name.</summary>
    public string Run(string network, string gateway, string name, string[]? options = null, string[]? command = null)
    {
        Docker(["run", "-d", "--name", name, "--network", network, "--dns", gateway, .. options ?? [], Image, .. command ?? ["sleep", "600"]]);
        return name;
    }

    private void StartDockerd()
    {
        string dir = Directory;
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "data"));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "exec"));
        // The flags this machine needs (DESIGN.md): no iptables, no bridge, vfs; nothing shared with a system dockerd.
        _dockerd = ChildProcess.Start(Dockerd!, ["--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs",
            "--data-root", Path.Combine(dir, "data"), "--exec-root", Path.Combine(dir, "exec"), "--pidfile", Path.Combine(dir, "dockerd.pid"),
            "-H", "unix://" + DockerSocket]);
    }

    /// <summary>A busybox rootfs (the static binary and its applets, a web root) as an image, with `docker import`.</summary>
    private void ImportImage()
    {
        var root = Path.Combine(Directory, "rootfs");
        System.IO.Directory.CreateDirectory(Path.Combine(root, "bin"));
        System.IO.Directory.CreateDirectory(Path.Combine(root, "www"));
        System.IO.Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.Copy("/usr/bin/busybox", Path.Combine(root, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "ping", "wget", "nslookup", "ip", "cat", "sleep", "httpd", "echo", "timeout" })
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        File.WriteAllText(Path.Combine(root, "www", "index.html"), "switchyard in docker\n");
        var tar = Path.Combine(Directory, "rootfs.tar");
        Command.Run("tar", ["-C", root, "-cf", tar, "."]);
        Docker(["import", tar, Image]);
    }

    private async Task StartDaemonAsync()
    {
        File.WriteAllText(Path.Combine(Directory, "resolv.conf"), "");   // never the host's resolvers
        _daemon = DaemonHost.Build(new DaemonOptions
        {
            StateDirectory = StateDirectory, SocketPath = YardSocket, ResolvConfPath = Path.Combine(Directory, "resolv.conf"),
            DockerPlugin = new DockerPluginOptions { SocketPath = PluginSocket, DockerHost = "unix://" + DockerSocket },
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _daemon.StartAsync(cts.Token);
        Yard = new SwitchyardClient(YardSocket);
    }

    /// <summary>Stops the Switchyard daemon and starts it again on the same state (dockerd keeps running).</summary>
    public async Task RestartDaemonAsync()
    {
        var app = _daemon!;
        _daemon = null;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await app.StopAsync(cts.Token);
        await app.DisposeAsync();
        await StartDaemonAsync();
    }

    /// <summary>The Switchyard network a Docker network became, once the driver has named it.</summary>
    public async Task<NetworkInfo> NetworkAsync(string name)
    {
        NetworkInfo? found = null;
        await Eventually.UntilAsync(async () => (found = (await Yard.ListNetworksAsync()).FirstOrDefault(n => n.Name == name)) is not null,
            TimeSpan.FromSeconds(15), () => $"no Switchyard network '{name}'");
        return found!;
    }

    public async Task DisposeAsync()
    {
        if (_dockerd is { HasExited: false })
        {
            var ids = Docker(["ps", "-aq"], check: false).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (ids.Length > 0) Docker(["rm", "-f", .. ids], check: false);
            foreach (var net in Docker(["network", "ls", "-q", "--filter", "driver=" + Driver], check: false).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                Docker(["network", "rm", net], check: false);
            Command.Run("kill", ["-TERM", _dockerd.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], check: false);
            Eventually.Until(() => _dockerd.HasExited, TimeSpan.FromSeconds(30), () => "dockerd did not stop");
        }
        _dockerd?.Dispose();
        if (_daemon is { } app)
        {
            _daemon = null;
            foreach (var n in await Yard.ListNetworksAsync())
                foreach (var e in await Yard.ListEndpointsAsync(n.Name))
                    await Yard.DetachEndpointAsync(n.Name, e.Name);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StopAsync(cts.Token);
            await app.DisposeAsync();
        }
        try { File.Delete(PluginSocket); } catch (IOException) { }
        // vfs layers and the exec root: dockerd has unmounted what it mounted when it stopped.
        Command.Run("rm", ["-rf", "--one-file-system", Directory], check: false, timeoutMs: 120_000);
    }
}
