using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Docker;

/// <summary>
/// The Docker remote network driver (`yard daemon --docker-plugin`) with a real dockerd 20.10 and real containers
/// (busybox): docker network create/rm make and remove Switchyard networks under Docker's names, containers get
/// TAPs that Docker moves into them with the address its IPAM chose, reach each other and the outside through the
/// NAT, publish ports with -p, and are held to an egress allowlist. Bad options are Docker errors and make nothing.
/// </summary>
public sealed class DockerDriverTests(DockerdFixture docker) : IClassFixture<DockerdFixture>
{
    private static string Unique(string prefix) => $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    private static int s_nextSubnet = RandomNumberGenerator.GetInt32(0, 2250);

    /// <summary>A /24 of 10.90.0.0-10.98.255.0, unlikely to be used by another test's daemon, and never
    /// the same twice in one run: two random picks once drew one subnet and dockerd refused the
    /// second with "Pool overlaps" (the class's networks share one dockerd).</summary>
    private static string Subnet()
    {
        int k = Interlocked.Increment(ref s_nextSubnet) % 2250;
        return $"10.{90 + k / 250}.{1 + k % 250}.0/24";
    }

    private static string Gateway(string subnet) => subnet.Replace(".0/24", ".1", StringComparison.Ordinal);

    [DockerFact]
    public async Task Containers_reach_each_other_by_name_and_the_outside_through_the_nat_and_publish_ports()
    {
        using var world = OutsideWorld.Start();
        string name = Unique("dk-lab"), subnet = Subnet(), gateway = Gateway(subnet);
        string networkId = docker.Docker(["network", "create", "-d", docker.Driver, "--subnet", subnet, name]).StdOut.Trim();

        // The Switchyard network has Docker's name (which CreateNetwork does not carry) and records Docker's ID.
        var net = await docker.NetworkAsync(name);
        Assert.Equal(subnet, net.Subnet);
        Assert.Equal("nat", net.Mode);
        Assert.Equal(networkId, net.Labels["com.docker.network.id"]);

        int hostPort = FreePort();
        string a = docker.Run(name, gateway, Unique("a"));
        string b = docker.Run(name, gateway, Unique("b"), ["-p", $"127.0.0.1:{hostPort}:80"], ["httpd", "-f", "-p", "80", "-h", "/www"]);

        // Each container's address is the one Docker's IPAM chose, pinned as its endpoint's reservation.
        var endpoints = await docker.Yard.ListEndpointsAsync(name);
        Assert.Equal(2, endpoints.Count);
        foreach (var (container, ep) in new[] { a, b }.Select(c => (c, endpoints.Single(e => e.Ipv4 == Inspect(c, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")))))
        {
            Assert.Equal("up", ep.State);
            Assert.Equal("reserved", ep.Lease?.State);
            Assert.Equal(Inspect(container, "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}"), ep.Mac);
            Assert.Equal(Inspect(container, "{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}"), ep.Labels?["com.docker.endpoint.id"]);
        }

        var ping = docker.Exec(a, $"ping -c 2 -W 3 {b}");
        Assert.True(ping.ExitCode == 0, ping.StdOut + ping.StdErr);
        var outside = docker.Exec(a, $"timeout 10 wget -q -O - {world.Url()}");
        Assert.True(outside.ExitCode == 0, $"exit {outside.ExitCode}: {outside.StdErr}");
        Assert.Equal(world.IndexPage, outside.StdOut);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string? body = null;
        await Eventually.UntilAsync(async () =>
        {
            try { body = await http.GetStringAsync($"http://127.0.0.1:{hostPort}/"); return true; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(10), () => $"-p 127.0.0.1:{hostPort}:80 does not answer");
        Assert.Equal("switchyard in docker\n", body);

        // docker rm takes the endpoints (and their TAPs, and the published port) away, and gives the address back
        // to Docker's IPAM: the next container may have it. docker network rm takes the network away.
        string aAddress = Inspect(a, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
        docker.Docker(["rm", "-f", a]);
        string again = docker.Run(name, gateway, Unique("again"), ["--ip", aAddress]);
        Assert.Contains(await docker.Yard.ListEndpointsAsync(name), e => e.Ipv4 == aAddress && e.Labels?["com.docker.endpoint.id"] == Inspect(again, "{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}"));
        docker.Docker(["rm", "-f", again, b]);
        Assert.Empty(await docker.Yard.ListEndpointsAsync(name));
        Assert.DoesNotContain(Command.Run("ip", ["-o", "link"]).StdOut.Split('\n'), l => l.Contains(" sy", StringComparison.Ordinal) && endpoints.Any(e => l.Contains(e.Transport.Ifname!, StringComparison.Ordinal)));
        Assert.ThrowsAny<Exception>(() => new TcpClient().Connect(IPAddress.Loopback, hostPort));
        docker.Docker(["network", "rm", name]);
        Assert.DoesNotContain(await docker.Yard.ListNetworksAsync(), n => n.Name == name);
    }

    [DockerFact]
    public async Task An_egress_allowlist_refuses_a_blocked_name_and_a_blocked_address()
    {
        using var world = OutsideWorld.Start();
        var other = world.AddPath();   // the same outside, at an address the allowlist does not name
        string name = Unique("dk-egress"), subnet = Subnet(), gateway = Gateway(subnet);
        docker.Docker(["network", "create", "-d", docker.Driver, "--subnet", subnet, "-o", "egress=deny", "-o", $"allow={world.Address}/32", name]);
        var net = await docker.NetworkAsync(name);
        Assert.Equal("deny", net.Egress?.Default);

        string c = docker.Run(name, gateway, Unique("sandbox"));
        var allowed = docker.Exec(c, $"timeout 10 wget -q -O - {world.Url()}");
        Assert.True(allowed.ExitCode == 0, $"exit {allowed.ExitCode}: {allowed.StdErr}");
        Assert.Equal(world.IndexPage, allowed.StdOut);

        var blockedAddress = docker.Exec(c, $"timeout 10 wget -q -O - http://{other.NamespaceAddress}/");
        Assert.NotEqual(0, blockedAddress.ExitCode);
        var blockedName = docker.Exec(c, "nslookup blocked.example.com");
        Assert.NotEqual(0, blockedName.ExitCode);
        Assert.DoesNotContain("Address 1: ", blockedName.StdOut.Split("Name:").Last(), StringComparison.Ordinal);

        // Refused by the policy (counted and logged as denials), not merely unreachable.
        var ep = (await docker.Yard.ListEndpointsAsync(name)).Single();
        Assert.True(ep.EgressDecisions is { Denied: >= 2, Allowed: >= 1 }, $"decisions: {ep.EgressDecisions}");
        var log = await docker.Yard.GetEgressLogAsync(name);
        Assert.Contains(log, e => e.Verdict == "deny" && e.Destination?.Contains(other.NamespaceAddress, StringComparison.Ordinal) == true);
        Assert.Contains(log, e => e.Verdict == "deny" && e.Name == "blocked.example.com");
    }

    [DockerFact]
    public async Task Bad_options_are_docker_errors_and_make_no_network()
    {
        var before = (await docker.Yard.ListNetworksAsync()).Select(n => n.Name).ToHashSet();
        (string[] Options, string Message)[] cases =
        [
            (["-o", "colour=blue"], "unknown option 'colour'"),
            (["-o", "mode=bridged"], "mode 'bridged'"),
            (["-o", "mode=internal", "-o", "egress=deny"], "egress policies apply to nat networks"),
            (["-o", "egress=sometimes"], "egress 'sometimes'"),
            (["-o", "allow=not a rule!"], "not a rule"),
        ];
        foreach (var (options, message) in cases)
        {
            string name = Unique("dk-bad"), subnet = Subnet();
            var r = docker.Docker(["network", "create", "-d", docker.Driver, "--subnet", subnet, .. options, name], check: false);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains(message, r.StdErr, StringComparison.Ordinal);
            Assert.DoesNotContain(name, docker.Docker(["network", "ls", "--format", "{{.Name}}"]).StdOut, StringComparison.Ordinal);
        }
        string gatewayName = Unique("dk-bad"), gatewaySubnet = Subnet();
        var gw = docker.Docker(["network", "create", "-d", docker.Driver, "--subnet", gatewaySubnet, "--gateway", gatewaySubnet.Replace(".0/24", ".9", StringComparison.Ordinal), gatewayName], check: false);
        Assert.NotEqual(0, gw.ExitCode);
        Assert.Contains("Switchyard's gateway is the subnet's first address", gw.StdErr, StringComparison.Ordinal);

        await Task.Delay(500);   // a network made in the background would show by now
        Assert.Equal(before, (await docker.Yard.ListNetworksAsync()).Select(n => n.Name).ToHashSet());
    }

    [DockerFact]
    public async Task An_existing_network_of_that_name_is_adopted_and_stays_after_docker_network_rm()
    {
        string name = Unique("dk-own"), subnet = Subnet(), gateway = Gateway(subnet);
        await docker.Yard.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Subnet = subnet, Mode = "host" });
        docker.Docker(["network", "create", "-d", docker.Driver, "--subnet", subnet, name]);
        string c = docker.Run(name, gateway, Unique("guest"));
        var ep = (await docker.Yard.ListEndpointsAsync(name)).Single();
        Assert.Equal(Inspect(c, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"), ep.Ipv4);
        var ping = docker.Exec(c, $"ping -c 1 -W 3 {gateway}");
        Assert.True(ping.ExitCode == 0, ping.StdOut + ping.StdErr);

        docker.Docker(["rm", "-f", c]);
        docker.Docker(["network", "rm", name]);
        var kept = await docker.Yard.GetNetworkAsync(name);
        Assert.Equal("host", kept.Mode);
        Assert.False(kept.Labels.ContainsKey("com.docker.network.id"));
        await docker.Yard.DeleteNetworkAsync(name);

        // Adopting needs the same subnet: another one is Docker's error at the first container, and makes nothing.
        string clash = Unique("dk-own");
        await docker.Yard.CreateNetworkAsync(new NetworkCreateRequest { Name = clash, Subnet = Subnet() });
        docker.Docker(["network", "create", "-d", docker.Driver, "--subnet", subnet, clash]);
        var run = docker.Docker(["run", "-d", "--name", Unique("guest"), "--network", clash, DockerdFixture.Image, "sleep", "600"], check: false);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("exists with subnet", run.StdErr, StringComparison.Ordinal);
        Assert.Empty(await docker.Yard.ListEndpointsAsync(clash));
        docker.Docker(["network", "rm", clash]);
        await docker.Yard.DeleteNetworkAsync(clash);
    }

    [DockerFact]
    public async Task A_running_container_gets_its_interface_back_when_the_daemon_restarts()
    {
        string name = Unique("dk-restart"), subnet = Subnet(), gateway = Gateway(subnet);
        docker.Docker(["network", "create", "-d", docker.Driver, "--subnet", subnet, name]);
        string a = docker.Run(name, gateway, Unique("a"));
        string address = Inspect(a, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");

        await docker.RestartDaemonAsync();
        // The TAP went with the old daemon; the new one puts a persistent one into the running container.
        await Eventually.UntilAsync(() => docker.Exec(a, $"ping -c 1 -W 1 {gateway}").ExitCode == 0, TimeSpan.FromSeconds(20),
            () => "no way to the gateway after the restart: " + docker.Exec(a, "ip addr; ip route").StdOut);
        var ep = (await docker.Yard.ListEndpointsAsync(name)).Single();
        Assert.Equal(address, ep.Ipv4);
        Assert.Equal("up", ep.State);
        Assert.Equal("eth0", ep.Transport.Ifname);
        Assert.Contains($"inet {address}/24", docker.Exec(a, "ip addr show eth0").StdOut, StringComparison.Ordinal);
        Assert.Contains($"default via {gateway}", docker.Exec(a, "ip route").StdOut, StringComparison.Ordinal);

        // A second restart finds the (now persistent) TAP in the container; docker rm still takes everything away.
        await docker.RestartDaemonAsync();
        await Eventually.UntilAsync(() => docker.Exec(a, $"ping -c 1 -W 1 {gateway}").ExitCode == 0, TimeSpan.FromSeconds(20));
        docker.Docker(["rm", "-f", a]);
        Assert.Empty(await docker.Yard.ListEndpointsAsync(name));

        // Removed behind Docker's back (yard network rm, or prune while empty): the next container makes it again.
        await docker.Yard.DeleteNetworkAsync(name);
        string b = docker.Run(name, gateway, Unique("b"));
        Assert.Equal(subnet, (await docker.NetworkAsync(name)).Subnet);
        Assert.Equal(0, docker.Exec(b, $"ping -c 1 -W 3 {gateway}").ExitCode);
        docker.Docker(["rm", "-f", b]);
        docker.Docker(["network", "rm", name]);
    }

    private string Inspect(string container, string format) => docker.Docker(["inspect", "-f", format, container]).StdOut.Trim();

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
