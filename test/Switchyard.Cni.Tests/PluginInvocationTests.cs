using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.Cni.Tests;

/// <summary>The built plugin run by plain env-var invocation (CNI spec 1.0, "Execution protocol")
/// against a real daemon and real namespaces: every command and every error path.</summary>
public sealed class PluginInvocationTests
{
    private static string Conf(string network, string socket, string version = "1.0.0", Action<JsonObject>? edit = null)
    {
        var o = new JsonObject { ["cniVersion"] = version, ["name"] = network, ["type"] = "switchyard", ["network"] = network, ["socket"] = socket };
        edit?.Invoke(o);
        return o.ToJsonString();
    }

    private static Dictionary<string, string?> Env(string id, string? netns, string ifname = "eth0", string? args = null) => new()
    {
        ["CNI_CONTAINERID"] = id, ["CNI_NETNS"] = netns, ["CNI_IFNAME"] = ifname, ["CNI_ARGS"] = args, ["CNI_PATH"] = "/opt/cni/bin",
    };

    private static void AssertError(CniPluginRunner.Result r, int code, string? msgPart = null)
    {
        Assert.True(r.ExitCode != 0, $"expected an error, got exit 0: {r.StdOut}");
        var e = r.Json;
        Assert.True(e.GetProperty("code").GetInt32() == code, $"expected code {code}: {r.StdOut} {r.StdErr}");
        Assert.False(string.IsNullOrEmpty(e.GetProperty("msg").GetString()));
        if (msgPart is not null) Assert.Contains(msgPart, e.GetProperty("msg").GetString());
    }

    private static string WithPrev(string conf, string result)
    {
        var o = JsonNode.Parse(conf)!.AsObject();
        o["prevResult"] = JsonNode.Parse(result);
        return o.ToJsonString();
    }

    [LinuxRootFact]
    public async Task Add_check_del_round_trip_configures_the_namespace()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "cni");
        using var ns = TestNamespace.Create("sy-cni");
        string id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string conf = Conf(net.Name, daemon.SocketPath);
        var env = Env(id, ns.Path, args: "IgnoreUnknown=1;K8S_POD_NAME=web_1");

        var add = CniPluginRunner.Run("ADD", env, conf);
        Assert.True(add.ExitCode == 0, add.StdOut + add.StdErr);
        var result = add.Json;
        Assert.Equal("1.0.0", result.GetProperty("cniVersion").GetString());
        var nic = result.GetProperty("interfaces")[0];
        Assert.Equal("eth0", nic.GetProperty("name").GetString());
        Assert.Equal(ns.Path, nic.GetProperty("sandbox").GetString());
        var ip = result.GetProperty("ips")[0];
        Assert.False(ip.TryGetProperty("version", out _));
        Assert.Equal(net.Gateway, ip.GetProperty("gateway").GetString());
        string cidr = ip.GetProperty("address").GetString()!;
        Assert.Equal(net.Gateway, result.GetProperty("routes")[0].GetProperty("gw").GetString());
        Assert.Equal(net.Gateway, result.GetProperty("dns").GetProperty("nameservers")[0].GetString());
        Assert.Equal(net.Domain, result.GetProperty("dns").GetProperty("domain").GetString());

        // The namespace has the interface, address and route the result names.
        var ep = Assert.Single(await daemon.Client.ListEndpointsAsync(net.Name));
        Assert.Equal(EndpointNames.For(id, "eth0"), ep.Name);
        Assert.Equal(nic.GetProperty("mac").GetString(), ep.Mac);
        Assert.Equal(["web-1"], ep.Aliases!);
        Assert.Equal(id, ep.Labels![AttachPlan.ContainerIdLabel]);
        Assert.Contains(cidr, ns.Ip("-4", "addr", "show", "eth0").StdOut);
        Assert.Contains($"default via {net.Gateway} dev eth0", ns.Ip("route").StdOut);
        Assert.Equal(0, Command.Run("ip", ["netns", "exec", ns.Name, "ping", .. Ping.ExpectingReplies(net.Gateway, 2)], check: false, timeoutMs: 30_000).ExitCode);

        var check = CniPluginRunner.Run("CHECK", env, WithPrev(conf, add.StdOut));
        Assert.True(check.ExitCode == 0, check.StdOut);
        Assert.Equal("", check.StdOut.Trim());

        // A retried ADD (no DEL between) gives the same endpoint and address.
        var again = CniPluginRunner.Run("ADD", env, conf);
        Assert.True(again.ExitCode == 0, again.StdOut);
        Assert.Equal(cidr, again.Json.GetProperty("ips")[0].GetProperty("address").GetString());
        Assert.Single(await daemon.Client.ListEndpointsAsync(net.Name));

        // CHECK notices what is no longer there.
        ns.Ip("route", "del", "default");
        AssertError(CniPluginRunner.Run("CHECK", env, WithPrev(conf, add.StdOut)), CniErrors.CheckFailed, "default route");
        ns.Ip("addr", "flush", "dev", "eth0");
        AssertError(CniPluginRunner.Run("CHECK", env, WithPrev(conf, add.StdOut)), CniErrors.CheckFailed, "lacks address");

        var del = CniPluginRunner.Run("DEL", env, WithPrev(conf, add.StdOut));
        Assert.True(del.ExitCode == 0, del.StdOut);
        Assert.Empty(await daemon.Client.ListEndpointsAsync(net.Name));
        Assert.DoesNotContain("eth0", ns.Ip("link").StdOut);
        AssertError(CniPluginRunner.Run("CHECK", env, WithPrev(conf, add.StdOut)), CniErrors.CheckFailed, "not attached");

        // DEL is idempotent: the endpoint, the namespace, even the network may be gone.
        Assert.Equal(0, CniPluginRunner.Run("DEL", env, conf).ExitCode);
        Assert.Equal(0, CniPluginRunner.Run("DEL", Env(id, null), conf).ExitCode);
        Assert.Equal(0, CniPluginRunner.Run("DEL", env, Conf("no-such-net", daemon.SocketPath)).ExitCode);
    }

    [LinuxRootFact]
    public async Task Older_versions_get_their_result_format_and_port_mappings_are_published()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "cni");
        using var ns = TestNamespace.Create("sy-cni");
        int port = FreePort();
        string conf = Conf(net.Name, daemon.SocketPath, "0.4.0", o => o["runtimeConfig"] = new JsonObject
        {
            ["portMappings"] = new JsonArray(new JsonObject { ["hostPort"] = port, ["containerPort"] = 80, ["protocol"] = "tcp", ["hostIP"] = "127.0.0.1" }),
        });
        var env = Env("c0ffee", ns.Path);
        var add = CniPluginRunner.Run("ADD", env, conf);
        Assert.True(add.ExitCode == 0, add.StdOut);
        Assert.Equal("0.4.0", add.Json.GetProperty("cniVersion").GetString());
        Assert.Equal("4", add.Json.GetProperty("ips")[0].GetProperty("version").GetString());
        var ep = await daemon.Client.GetEndpointAsync(net.Name, EndpointNames.For("c0ffee", "eth0"));
        Assert.Equal([$"127.0.0.1:{port}:80/tcp"], ep.Published!);
        Assert.Equal(0, CniPluginRunner.Run("CHECK", env, WithPrev(conf, add.StdOut)).ExitCode);
        Assert.Equal(0, CniPluginRunner.Run("DEL", env, conf).ExitCode);
        // The host port is free again.
        using var probe = new TcpListener(IPAddress.Loopback, port);
        probe.Start();
        // CHECK did not exist before 0.4.0.
        AssertError(CniPluginRunner.Run("CHECK", env, WithPrev(Conf(net.Name, daemon.SocketPath, "0.3.1"), add.StdOut)), CniErrors.IncompatibleVersion);
    }

    [LinuxRootFact]
    public async Task A_failed_add_leaves_no_endpoint()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "cni");
        using var ns1 = TestNamespace.Create("sy-cni");
        using var ns2 = TestNamespace.Create("sy-cni");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        string conf = Conf(net.Name, daemon.SocketPath);
        Assert.Equal(0, CniPluginRunner.Run("ADD", Env("first", ns1.Path, args: "K8S_POD_NAME=web"), conf).ExitCode);

        // The container name is taken on the network: the daemon refuses the alias.
        AssertError(CniPluginRunner.Run("ADD", Env("second", ns2.Path, args: "K8S_POD_NAME=web"), conf), CniErrors.DaemonRefused);
        // A host port someone else holds.
        string published = Conf(net.Name, daemon.SocketPath, edit: o => o["runtimeConfig"] = new JsonObject
        {
            ["portMappings"] = new JsonArray(new JsonObject { ["hostPort"] = port, ["containerPort"] = 80, ["hostIP"] = "127.0.0.1" }),
        });
        AssertError(CniPluginRunner.Run("ADD", Env("second", ns2.Path), published), CniErrors.DaemonRefused);

        Assert.Equal([EndpointNames.For("first", "eth0")], (await daemon.Client.ListEndpointsAsync(net.Name)).Select(e => e.Name));
        Assert.DoesNotContain("eth0", ns2.Ip("link").StdOut);
    }

    [LinuxRootFact]
    public async Task A_container_gone_without_del_does_not_block_its_successor()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "cni");
        using var live = TestNamespace.Create("sy-cni");
        using var next = TestNamespace.Create("sy-cni");
        int port = FreePort();
        string conf = Conf(net.Name, daemon.SocketPath, edit: o => o["runtimeConfig"] = new JsonObject
        {
            ["portMappings"] = new JsonArray(new JsonObject { ["hostPort"] = port, ["containerPort"] = 80, ["hostIP"] = "127.0.0.1" }),
        });
        var gone = TestNamespace.Create("sy-cni");
        Assert.Equal(0, CniPluginRunner.Run("ADD", Env("old", gone.Path, args: "K8S_POD_NAME=web"), conf).ExitCode);
        gone.Dispose();   // the container went away, and nobody called DEL

        // A name a live container holds stays its: the rival's ADD fails.
        Assert.Equal(0, CniPluginRunner.Run("ADD", Env("holder", live.Path, args: "K8S_POD_NAME=api"), Conf(net.Name, daemon.SocketPath)).ExitCode);
        AssertError(CniPluginRunner.Run("ADD", Env("rival", next.Path, args: "K8S_POD_NAME=api"), Conf(net.Name, daemon.SocketPath)), CniErrors.DaemonRefused);
        // The successor with the gone container's name and port: the stale endpoint goes, the ADD succeeds.
        var add = CniPluginRunner.Run("ADD", Env("new", next.Path, args: "K8S_POD_NAME=web"), conf);
        Assert.True(add.ExitCode == 0, add.StdOut);
        Assert.Contains("is gone", add.StdErr);
        var endpoints = await daemon.Client.ListEndpointsAsync(net.Name);
        Assert.Equal(new[] { EndpointNames.For("holder", "eth0"), EndpointNames.For("new", "eth0") }.Order(), endpoints.Select(e => e.Name).Order());
        Assert.Equal([$"127.0.0.1:{port}:80/tcp"], endpoints.Single(e => e.Name == EndpointNames.For("new", "eth0")).Published!);
    }

    [LinuxRootFact]
    public async Task Every_error_is_a_cni_error_object()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "cni");
        using var ns = TestNamespace.Create("sy-cni");
        string conf = Conf(net.Name, daemon.SocketPath);
        var env = Env("errors", ns.Path);

        AssertError(CniPluginRunner.Run("ADD", env, Conf(net.Name, Path.Combine(daemon.Directory, "nobody.sock"))), CniErrors.TryAgainLater, "not running");
        AssertError(CniPluginRunner.Run("DEL", env, Conf(net.Name, Path.Combine(daemon.Directory, "nobody.sock"))), CniErrors.TryAgainLater);
        AssertError(CniPluginRunner.Run("ADD", env, Conf("no-such-net", daemon.SocketPath)), CniErrors.InvalidConfig, "does not exist");
        AssertError(CniPluginRunner.Run("ADD", env, "{not json"), CniErrors.DecodeFailure);
        AssertError(CniPluginRunner.Run("ADD", env, Conf(net.Name, daemon.SocketPath, "9.9.9")), CniErrors.IncompatibleVersion);
        AssertError(CniPluginRunner.Run("ADD", env, """{"cniVersion":"1.0.0","type":"switchyard"}"""), CniErrors.InvalidConfig, "names no network");
        AssertError(CniPluginRunner.Run("ADD", Env("errors", "/proc/999999999/ns/net"), conf), CniErrors.InvalidEnvironment, "CNI_NETNS");
        AssertError(CniPluginRunner.Run("ADD", Env("errors", ns.Path, "bad/name"), conf), CniErrors.InvalidConfig);
        AssertError(CniPluginRunner.Run("ADD", Env("errors", null), conf), CniErrors.InvalidEnvironment, "CNI_NETNS");
        AssertError(CniPluginRunner.Run("ADD", new Dictionary<string, string?> { ["CNI_NETNS"] = ns.Path, ["CNI_IFNAME"] = "eth0" }, conf), CniErrors.InvalidEnvironment, "CNI_CONTAINERID");
        AssertError(CniPluginRunner.Run("ADD", Env("errors", ns.Path, args: "junk"), conf), CniErrors.InvalidEnvironment, "CNI_ARGS");
        AssertError(CniPluginRunner.Run("FROB", env, conf), CniErrors.InvalidEnvironment, "FROB");
        AssertError(CniPluginRunner.Run("CHECK", env, conf), CniErrors.InvalidConfig, "prevResult");
        AssertError(CniPluginRunner.Run("CHECK", Env("errors", "/proc/999999999/ns/net"), WithPrev(conf, "{}")), CniErrors.InvalidEnvironment, "CNI_NETNS");
        AssertError(CniPluginRunner.Run("ADD", env, Conf(net.Name, daemon.SocketPath, edit: o => o["runtimeConfig"] = new JsonObject
        {
            ["portMappings"] = new JsonArray(new JsonObject { ["hostPort"] = 80, ["containerPort"] = 80, ["protocol"] = "sctp" }),
        })), CniErrors.InvalidConfig, "sctp");
        Assert.Empty(await daemon.Client.ListEndpointsAsync(net.Name));
        Assert.DoesNotContain("eth0", ns.Ip("link").StdOut);
    }

    [LinuxRootFact]
    public async Task Version_status_and_gc()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "cni");
        var version = CniPluginRunner.Run("VERSION", new Dictionary<string, string?>(), """{"cniVersion":"0.4.0"}""");
        Assert.Equal(0, version.ExitCode);
        Assert.Equal("0.4.0", version.Json.GetProperty("cniVersion").GetString());
        Assert.Equal(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"], version.Json.GetProperty("supportedVersions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(0, CniPluginRunner.Run("VERSION", new Dictionary<string, string?>(), "").ExitCode);

        var none = new Dictionary<string, string?>();
        Assert.Equal(0, CniPluginRunner.Run("STATUS", none, Conf(net.Name, daemon.SocketPath, "1.1.0")).ExitCode);
        AssertError(CniPluginRunner.Run("STATUS", none, Conf("no-such-net", daemon.SocketPath, "1.1.0")), CniErrors.PluginNotAvailable);
        AssertError(CniPluginRunner.Run("STATUS", none, Conf(net.Name, Path.Combine(daemon.Directory, "nobody.sock"), "1.1.0")), CniErrors.PluginNotAvailable);

        using var keep = TestNamespace.Create("sy-cni");
        using var stale = TestNamespace.Create("sy-cni");
        using var manual = TestNamespace.Create("sy-cni");
        string conf = Conf(net.Name, daemon.SocketPath, "1.1.0");
        Assert.Equal(0, CniPluginRunner.Run("ADD", Env("keep", keep.Path), conf).ExitCode);
        Assert.Equal(0, CniPluginRunner.Run("ADD", Env("stale", stale.Path), conf).ExitCode);
        // An endpoint attached by other means (no CNI labels) is none of GC's business.
        await daemon.Client.AttachEndpointAsync(net.Name, new EndpointAttachRequest { Name = "manual", Transport = new TransportSpec { Kind = "tap", Netns = manual.Name } });
        AssertError(CniPluginRunner.Run("GC", none, conf), CniErrors.InvalidConfig, "valid-attachments");
        var gc = CniPluginRunner.Run("GC", none, Conf(net.Name, daemon.SocketPath, "1.1.0", o => o["cni.dev/valid-attachments"] =
            new JsonArray(new JsonObject { ["containerID"] = "keep", ["ifname"] = "eth0" })));
        Assert.True(gc.ExitCode == 0, gc.StdOut);
        Assert.Equal(new[] { "manual", EndpointNames.For("keep", "eth0") }.Order(), (await daemon.Client.ListEndpointsAsync(net.Name)).Select(e => e.Name).Order());
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
