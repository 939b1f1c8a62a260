using System.Net;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>podman 4 on its CNI backend with the plugin `switchyard` that <c>yard cni install</c>
/// put in place (docs/integrations.md, "CNI"): names, the NAT, published ports with the client's
/// address, egress policy, and cleanup on <c>podman rm</c>. The outside is an <see cref="EgressWorld"/>
/// (its own namespace and resolver); containers resolve through the network's gateway only.</summary>
public sealed class CniPodmanTests
{
    private static void Install(TestDaemon daemon, CniPodman podman, string network)
    {
        var r = Command.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "yard.dll"), "--socket", daemon.SocketPath, "cni", "install",
            "--bin-dir", podman.BinDir, "--conf-dir", podman.ConfDir, "--plugin", CniPluginRunner.PluginPath(), network], check: false, timeoutMs: 30_000);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.True(File.Exists(Path.Combine(podman.BinDir, "switchyard")));
        Assert.Contains(daemon.SocketPath, File.ReadAllText(Path.Combine(podman.ConfDir, $"{network}.conflist")));
    }

    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Any, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    [PodmanFact]
    public async Task Containers_reach_each_other_by_name_the_outside_and_a_published_port_and_rm_leaves_nothing()
    {
        using var world = EgressWorld.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync([world.DnsUpstream], prefix: "cnip");
        using var podman = new CniPodman();
        Install(daemon, podman, net.Name);
        string web = TestDaemon.UniqueName("web");
        int port = FreePort();

        var run = podman.Run(web, net.Name, net.Gateway, detach: true, ["-p", $"{port}:80", "--network-alias", "www"], "/bin/httpd", "-f", "-p", "80", "-h", "/www");
        Assert.True(run.ExitCode == 0, $"podman run: {run.StdErr}");
        var ep = Assert.Single(await daemon.Client.ListEndpointsAsync(net.Name));
        // The container's name, podman's --network-alias and its short id (podman adds it) all resolve.
        Assert.Contains(web, ep.Aliases!);
        Assert.Contains("www", ep.Aliases!);
        Assert.Contains(run.StdOut.Trim()[..12], ep.Aliases!);
        Assert.Equal(run.StdOut.Trim(), ep.Labels!["cni.container-id"]);
        Assert.Equal([$"0.0.0.0:{port}:80/tcp"], ep.Published!);

        // Another container finds it by name, and the outside by name through the NAT.
        var client = podman.Run(TestDaemon.UniqueName("cli"), net.Name, net.Gateway, detach: false, [],
            "/bin/sh", "-c", $"ping -c 2 -W 5 {web} && timeout 10 wget -qO- http://www/ && timeout 10 wget -qO- http://{EgressWorld.AllowedName}/");
        Assert.True(client.ExitCode == 0, $"client: {client.StdOut} {client.StdErr}");
        Assert.Contains("2 packets received", client.StdOut);
        Assert.Contains("inside", client.StdOut);
        Assert.Contains(world.Body(EgressWorld.AllowedName), client.StdOut);

        // -p PORT:80 answers on the host, and the container sees the client's own address.
        Command.Result? seen = null;
        await Eventually.UntilAsync(() =>
        {
            seen = Command.Run("ip", ["netns", "exec", world.Namespace.Name, "curl", "-sS", "--max-time", "10",
                $"http://{world.Outside.HostSideAddress}:{port}/cgi-bin/ip"], check: false, timeoutMs: 20_000);
            return seen.ExitCode == 0;
        }, TimeSpan.FromSeconds(20), () => $"curl: {seen?.ExitCode} {seen?.StdErr}");
        Assert.Equal(world.Outside.Address, seen!.StdOut.Trim().Replace("[::ffff:", "").TrimEnd(']'));

        var rm = podman.Podman("rm", "-f", "-t", "0", web);
        Assert.True(rm.ExitCode == 0, rm.StdErr);
        Assert.Empty(await daemon.Client.ListEndpointsAsync(net.Name));
        using var free = new TcpListener(IPAddress.Any, port);
        free.Start();
    }

    [PodmanFact]
    public async Task An_egress_allowlist_holds_for_a_container()
    {
        using var world = EgressWorld.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync([world.DnsUpstream], prefix: "cnie",
            customize: r => r with { Egress = new EgressPolicySpec { Default = "deny", Allow = [EgressWorld.AllowedName] } });
        using var podman = new CniPodman();
        Install(daemon, podman, net.Name);

        var r = podman.Run(TestDaemon.UniqueName("agent"), net.Name, net.Gateway, detach: false, [], "/bin/sh", "-c",
            $"timeout 5 wget -qO- http://{EgressWorld.AllowedName}/; echo allowed=$?; timeout 5 wget -qO- http://{EgressWorld.BlockedName}/; echo name=$?; "
            + $"timeout 5 wget -qO- http://{world.BlockedAddress}/; echo ip=$?");
        Assert.True(r.ExitCode == 0, $"{r.StdOut} {r.StdErr}");
        Assert.Contains(world.Body(EgressWorld.AllowedName), r.StdOut);
        Assert.Contains("allowed=0", r.StdOut);
        Assert.DoesNotContain("name=0", r.StdOut);
        Assert.DoesNotContain("ip=0", r.StdOut);
        Assert.DoesNotContain(world.Body(EgressWorld.BlockedName), r.StdOut);
        Assert.Empty(await daemon.Client.ListEndpointsAsync(net.Name));
    }
}
