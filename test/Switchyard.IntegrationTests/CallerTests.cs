using System.Net.Sockets;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// Issue 16, finding 6: a daemon started with <c>--group</c> lets that group's members in, and must
/// not give them root's power. The member is a uid and gid of the test's own (unused by the host),
/// run with <c>setpriv --reuid --regid --groups</c>, talking to the API with curl; the kernel's
/// SO_PEERCRED tells the daemon who it is. What only root may do is refused with a 403 and the
/// reason (all of it succeeded before); what the member could do without the daemon works.
/// </summary>
public sealed class CallerTests
{
    /// <summary>A member of the daemon's group: a uid no one uses, with its own primary group.</summary>
    private sealed class Member(string socket, uint uid, uint gid, uint socketGroup)
    {
        public uint Uid => uid;

        public (int Status, string Body) Call(string method, string path, object? body = null)
        {
            List<string> args = [$"--reuid={uid}", $"--regid={gid}", $"--groups={socketGroup}", "--",
                "curl", "-sS", "--max-time", "20", "--unix-socket", socket, "-X", method, "-w", "\n%{http_code}"];
            if (body is not null) args.AddRange(["-H", "Content-Type: application/json", "--data-binary", JsonSerializer.Serialize(body)]);
            args.Add($"http://yard{path}");
            var result = Command.Run("setpriv", args, check: false, timeoutMs: 30_000);
            var output = result.StdOut.TrimEnd();
            int cut = output.LastIndexOf('\n');
            var status = cut >= 0 ? output[(cut + 1)..] : output;
            return int.TryParse(status, out int code) ? (code, cut >= 0 ? output[..cut] : "") : (0, result.StdErr + output);
        }

        /// <summary>A refusal with <paramref name="reason"/> in its problem+json detail.</summary>
        public void Refused(string reason, string method, string path, object? body = null)
        {
            var (status, text) = Call(method, path, body);
            Assert.True(status == 403, $"{method} {path} as uid {uid}: expected 403, got {status}: {text}");
            using var problem = JsonDocument.Parse(text);
            var detail = problem.RootElement.GetProperty("detail").GetString()!;
            Assert.StartsWith($"uid {uid} may not ", detail);
            Assert.Contains(reason, detail);
        }

        public void Allowed(int expected, string method, string path, object? body = null)
        {
            var (status, text) = Call(method, path, body);
            Assert.True(status == expected, $"{method} {path} as uid {uid}: expected {expected}, got {status}: {text}");
        }
    }

    private sealed class Fixture : IAsyncDisposable
    {
        public required TestDaemon Daemon { get; init; }
        public required Member Member { get; init; }
        public required string Root { get; init; }
        /// <summary>The member's own directory (0700).</summary>
        public string Home => Path.Combine(Root, "home");
        /// <summary>Root's own directory (0700).</summary>
        public string RootOnly => Path.Combine(Root, "rootonly");
        /// <summary>A sticky, world-writable directory, like /tmp.</summary>
        public string Shared => Path.Combine(Root, "shared");

        public static async Task<Fixture> StartAsync()
        {
            uint uid = 2_100_000_000u + (uint)Random.Shared.Next(1_000_000) * 2, group = uid + 1;
            var root = Directory.CreateTempSubdirectory("sy-callers-").FullName;
            Command.Run("chmod", ["755", root]);
            Directory.CreateDirectory(Path.Combine(root, "home"));
            Command.Run("chown", [$"{uid}:{uid}", Path.Combine(root, "home")]);
            Command.Run("chmod", ["700", Path.Combine(root, "home")]);
            Directory.CreateDirectory(Path.Combine(root, "rootonly"));
            Command.Run("chmod", ["700", Path.Combine(root, "rootonly")]);
            Directory.CreateDirectory(Path.Combine(root, "shared"));
            Command.Run("chmod", ["1777", Path.Combine(root, "shared")]);
            TestDaemon daemon;
            try { daemon = await TestDaemon.StartAsync(socketGroup: group.ToString()); }
            catch { Directory.Delete(root, recursive: true); throw; }
            return new Fixture { Daemon = daemon, Root = root, Member = new Member(daemon.SocketPath, uid, uid, group) };
        }

        public async ValueTask DisposeAsync()
        {
            await Daemon.DisposeAsync();
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        }
    }

    private static object Endpoint(string name, object transport, params string[] publish) =>
        publish.Length == 0 ? new { name, transport } : new { name, transport, publish };

    /// <summary>A daemon with --group, a member, and a network root made for the member to try things on.</summary>
    private static async Task<(Fixture F, string Endpoints, string Network)> StartWithNetworkAsync()
    {
        var f = await Fixture.StartAsync();
        try
        {
            var net = await f.Daemon.CreateNetworkAsync(["none"], prefix: "cal");
            return (f, $"/networks/{net.Name}/endpoints", net.Name);
        }
        catch { await f.DisposeAsync(); throw; }
    }

    [LinuxRootFact]
    public async Task A_member_may_not_attach_a_TAP_in_the_daemons_namespace()
    {
        var (f, endpoints, _) = await StartWithNetworkAsync();
        await using var _ = f;
        string tap = TestDaemon.UniqueName("syc");
        f.Member.Refused("(--tap): it is an interface of the host itself", "POST", endpoints, Endpoint("tap1", new { kind = "tap", ifname = tap }));
        Assert.False(Directory.Exists($"/sys/class/net/{tap}"), "the TAP was made");
    }

    [LinuxRootFact]
    public async Task A_member_may_not_put_a_TAP_in_a_namespace_root_made()
    {
        var (f, endpoints, _) = await StartWithNetworkAsync();
        await using var _ = f;
        using var rootNs = TestNamespace.Create("sy-cal");
        f.Member.Refused("belongs to a user namespace of uid 0 (the host's own)", "POST", endpoints,
            Endpoint("tap2", new { kind = "tap", netns = rootNs.Name, configure = true }));
        f.Member.Refused("belongs to a user namespace of uid 0 (the host's own)", "POST", endpoints,
            Endpoint("tap3", new { kind = "tap", netnsPath = rootNs.Path }));
        Assert.DoesNotContain("eth0", rootNs.Ip("link", "show").StdOut);
    }

    [LinuxRootFact]
    public async Task A_member_may_not_bridge_a_network_to_a_host_interface()
    {
        await using var f = await Fixture.StartAsync();
        using var lanNs = TestNamespace.Create("sy-cal");
        string hostIf = TestDaemon.UniqueName("sycv");
        Command.Run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "eth9", "netns", lanNs.Name]);
        try
        {
            Command.Run("ip", ["link", "set", hostIf, "up"]);
            lanNs.Ip("link", "set", "eth9", "up");   // with its peer up the veth is up: a LAN the daemon would bridge to
            f.Member.Refused("create a bridged network: its guests join the host's LAN", "POST", "/networks",
                new { name = TestDaemon.UniqueName("br"), mode = $"bridged:{hostIf}" });
            Assert.DoesNotContain((await f.Daemon.Client.ListNetworksAsync()), n => n.Mode == "bridged");
        }
        finally { Command.Run("ip", ["link", "del", hostIf], check: false); }
    }

    /// <summary>Prune (issue 12) as a member: the networks it may remove go, a bridged one (root's to
    /// remove) is kept and named with the reason, and the prune is no 403 for the rest.</summary>
    [LinuxRootFact]
    public async Task A_members_prune_keeps_a_bridged_network()
    {
        await using var f = await Fixture.StartAsync();
        using var lanNs = TestNamespace.Create("sy-cal");
        string hostIf = TestDaemon.UniqueName("sycp");
        Command.Run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "eth9", "netns", lanNs.Name]);
        try
        {
            Command.Run("ip", ["link", "set", hostIf, "up"]);
            lanNs.Ip("link", "set", "eth9", "up");
            string bridged = TestDaemon.UniqueName("br");
            await f.Daemon.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = bridged, Mode = $"bridged:{hostIf}" });
            var empty = await f.Daemon.CreateNetworkAsync(["none"], prefix: "cal");

            var (status, text) = f.Member.Call("POST", "/networks/prune");
            Assert.True(status == 200, $"prune as uid {f.Member.Uid}: {status}: {text}");
            using var result = JsonDocument.Parse(text);
            Assert.Equal([empty.Name], result.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetString()!));
            var kept = Assert.Single(result.RootElement.GetProperty("kept").EnumerateArray());
            Assert.Equal(bridged, kept.GetProperty("name").GetString());
            Assert.Contains("bridged", kept.GetProperty("reason").GetString());
            Assert.Equal([bridged, "default"], (await f.Daemon.Client.ListNetworksAsync()).Select(n => n.Name).Order());
            await f.Daemon.Client.DeleteNetworkAsync(bridged);
        }
        finally { Command.Run("ip", ["link", "del", hostIf], check: false); }
    }

    [LinuxRootFact]
    public async Task A_member_may_not_plant_a_socket_in_a_root_only_directory()
    {
        var (f, endpoints, _) = await StartWithNetworkAsync();
        await using var _ = f;
        var planted = Path.Combine(f.RootOnly, "vm.sock");
        foreach (var kind in new[] { "dgram", "stream" })
            f.Member.Refused($"may not write to {f.RootOnly} (mode 0700, owner 0:0)", "POST", endpoints,
                Endpoint("planted-" + kind, new { kind, listen = planted }));
        Assert.False(File.Exists(planted), "the daemon made a socket in a root-only directory");
    }

    [LinuxRootFact]
    public async Task A_member_may_not_take_over_a_live_root_socket_in_a_sticky_directory()
    {
        var (f, endpoints, _) = await StartWithNetworkAsync();
        await using var _ = f;
        var rootSocketPath = Path.Combine(f.Shared, "root.sock");
        using var rootSocket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        rootSocket.Bind(new UnixDomainSocketEndPoint(rootSocketPath));
        foreach (var kind in new[] { "dgram", "stream" })
            f.Member.Refused($"belongs to uid 0 and sits in the sticky directory {f.Shared}", "POST", endpoints,
                Endpoint("hijack-" + kind, new { kind, listen = rootSocketPath }));
        // Still root's: a datagram sent to the path arrives at the socket root bound.
        using var probe = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        probe.SendTo("still mine"u8.ToArray(), new UnixDomainSocketEndPoint(rootSocketPath));
        rootSocket.ReceiveTimeout = 5000;
        Assert.Equal(10, rootSocket.Receive(new byte[64]));
    }

    [LinuxRootFact]
    public async Task A_member_may_not_publish_below_1024_or_off_loopback()
    {
        var (f, endpoints, network) = await StartWithNetworkAsync();
        await using var _ = f;
        var m = f.Member;
        m.Allowed(201, "POST", endpoints, Endpoint("ok", new { kind = "dgram", listen = Path.Combine(f.Home, "ok.sock") }));
        m.Refused("publish on 0.0.0.0: a port on a non-loopback address", "POST", $"{endpoints}/ok/published", new { spec = "0.0.0.0:18081:80" });
        m.Refused("publish host port 81: ports below 1024", "POST", $"{endpoints}/ok/published", new { spec = "0.0.0.0:81:80" });
        m.Refused("publish host port 81: ports below 1024", "POST", $"{endpoints}/ok/published", new { spec = "127.0.0.1:81:80" });
        m.Refused("publish host port 81", "POST", endpoints,
            Endpoint("pub", new { kind = "dgram", listen = Path.Combine(f.Home, "pub.sock") }, "81:80"));
        Assert.Empty((await f.Daemon.Client.GetEndpointAsync(network, "ok")).Published ?? []);
    }

    [LinuxRootFact]
    public async Task A_member_may_not_detach_roots_TAP()
    {
        var (f, endpoints, network) = await StartWithNetworkAsync();
        await using var _ = f;
        using var rootNs = TestNamespace.Create("sy-cal");
        await f.Daemon.Client.AttachEndpointAsync(network, new EndpointAttachRequest
        {
            Name = "roots", Transport = new TransportSpec { Kind = "tap", Netns = rootNs.Name },
        });
        f.Member.Refused("belongs to a user namespace of uid 0", "DELETE", $"{endpoints}/roots");
        Assert.Equal("up", (await f.Daemon.Client.GetEndpointAsync(network, "roots")).State);
    }

    [LinuxRootFact]
    public async Task A_group_member_manages_networks_and_endpoints_of_its_own()
    {
        await using var f = await Fixture.StartAsync();
        var m = f.Member;
        string name = TestDaemon.UniqueName("mine");
        // A network: retry another subnet if a concurrent test holds this one.
        int status = 0;
        for (int attempt = 0; attempt < 10 && status != 201; attempt++)
        {
            string subnet = $"10.{Random.Shared.Next(200, 256)}.{Random.Shared.Next(0, 256)}.0/24";
            (status, var text) = m.Call("POST", "/networks", new { name, subnet, dnsUpstreams = new[] { "none" } });
            Assert.True(status is 201 or 409, $"create: {status} {text}");
        }
        Assert.Equal(201, status);
        var endpoints = $"/networks/{name}/endpoints";

        // Socket endpoints in its own directory, a loopback port from 1024 up.
        int port = 18_000 + Random.Shared.Next(1000);
        m.Allowed(201, "POST", endpoints, Endpoint("vm-dgram", new { kind = "dgram", listen = Path.Combine(f.Home, "d.sock") }));
        m.Allowed(201, "POST", endpoints, Endpoint("vm-stream", new { kind = "stream", listen = Path.Combine(f.Home, "s.sock") }, $"127.0.0.1:{port}:80"));
        m.Allowed(201, "POST", $"{endpoints}/vm-dgram/published", new { spec = $"127.0.0.1:{port + 1000}:80/udp" });
        // The sockets are the member's, as if it had bound them: its VM may connect to them.
        foreach (var socket in new[] { "d.sock", "s.sock" })
            Assert.Equal($"{m.Uid}", Command.Run("stat", ["-c", "%u", Path.Combine(f.Home, socket)]).StdOut.Trim());
        Assert.Equal(0, Command.Run("setpriv", [$"--reuid={m.Uid}", $"--regid={m.Uid}", "--clear-groups", "--",
            "socat", "-u", "OPEN:/dev/null", $"UNIX-CONNECT:{Path.Combine(f.Home, "s.sock")}"],
            check: false).ExitCode);
        // And in a sticky directory, where no one else's socket is in the way.
        m.Allowed(201, "POST", endpoints, Endpoint("vm-tmp", new { kind = "dgram", listen = Path.Combine(f.Shared, $"{m.Uid}.sock") }));

        // Rootless podman's case: a TAP in a network namespace of a user namespace the member made.
        using (var userNs = ChildProcess.Start("setpriv", [$"--reuid={m.Uid}", $"--regid={m.Uid}", "--clear-groups", "--",
            "unshare", "--user", "--map-root-user", "--net", "sleep", "60"]))
        {
            string ours = Command.Run("readlink", ["/proc/self/ns/net"]).StdOut;
            await Eventually.UntilAsync(() => Command.Run("readlink", [$"/proc/{userNs.Pid}/ns/net"], check: false).StdOut is { Length: > 0 } ns && ns != ours,
                TimeSpan.FromSeconds(10), () => $"unshare did not make a namespace: {userNs.Output}");
            m.Allowed(201, "POST", endpoints, Endpoint("podman", new { kind = "tap", netnsPath = $"/proc/{userNs.Pid}/ns/net" }));
            Assert.Contains("eth0", Command.Run("nsenter", [$"--net=/proc/{userNs.Pid}/ns/net", "ip", "link", "show"]).StdOut);
            m.Allowed(204, "DELETE", $"{endpoints}/podman");
        }

        m.Allowed(204, "DELETE", $"{endpoints}/vm-stream/published/127.0.0.1:{port}:80%2Ftcp");
        foreach (var e in new[] { "vm-dgram", "vm-stream", "vm-tmp" }) m.Allowed(204, "DELETE", $"{endpoints}/{e}");
        m.Allowed(204, "DELETE", $"/networks/{name}");
    }
}
