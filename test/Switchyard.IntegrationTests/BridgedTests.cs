using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// A "LAN": a namespace joined to the host by a veth pair, with dnsmasq as its DHCP server (DNS off).
/// A network bridged to the host end of that veth puts its guests on that LAN: their leases come from
/// dnsmasq, not from us, and the LAN and the guests reach each other directly. Nothing here talks to
/// anything but the test's own namespaces and links.
/// </summary>
internal sealed class BridgeLan : IDisposable
{
    private readonly ChildProcess _dnsmasq;
    private readonly string _scratch;

    private BridgeLan(TestNamespace ns, string hostInterface, int octet, ChildProcess dnsmasq, string scratch)
    {
        Namespace = ns;
        HostInterface = hostInterface;
        Prefix = $"10.253.{octet}.";
        _dnsmasq = dnsmasq;
        _scratch = scratch;
    }

    public TestNamespace Namespace { get; }
    /// <summary>The host end of the veth: what networks bridge to.</summary>
    public string HostInterface { get; }
    /// <summary>"10.253.X." — the LAN is 10.253.X.0/24, its router and DHCP server .1, leases .100-.150.</summary>
    public string Prefix { get; }
    public string Router => Prefix + "1";
    public string Subnet => Prefix + "0/24";

    public static BridgeLan Start()
    {
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var ns = TestNamespace.Create("sy-lan");
        string hostIf = $"sybr{id}";
        string scratch = Directory.CreateTempSubdirectory("sy-lan-").FullName;
        bool linkMade = false;
        try
        {
            int octet = FreeOctet();
            Command.Run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns.Name]);
            linkMade = true;
            Command.Run("ip", ["link", "set", hostIf, "up"]);
            ns.Ip("link", "set", "lo", "up");
            ns.Ip("addr", "add", $"10.253.{octet}.1/24", "dev", "eth0");
            ns.Ip("link", "set", "eth0", "up");
            var dnsmasq = ns.StartServer("dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
                "--pid-file=", "--user=root", "--log-facility=-", "--interface=eth0", "--bind-interfaces",
                $"--dhcp-range=10.253.{octet}.100,10.253.{octet}.150,255.255.255.0,1h", $"--dhcp-option=3,10.253.{octet}.1",
                $"--dhcp-leasefile={Path.Combine(scratch, "leases")}");
            try { ns.WaitForListening([], [67], TimeSpan.FromSeconds(15), dnsmasq); }
            catch { dnsmasq.Dispose(); throw; }
            return new BridgeLan(ns, hostIf, octet, dnsmasq, scratch);
        }
        catch
        {
            if (linkMade) Command.Run("ip", ["link", "del", hostIf], check: false);
            ns.Dispose();
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>`ping` from the LAN's router; true when it answers.</summary>
    public bool Ping(string target) =>
        Command.Run("ip", ["netns", "exec", Namespace.Name, "ping", .. Testing.Ping.ExpectingReplies(target, 2)], check: false, timeoutMs: 30_000).ExitCode == 0;

    /// <summary>An X such that 10.253.X.0/24 overlaps no route and no address of the host.</summary>
    private static int FreeOctet()
    {
        var taken = new List<IPNetwork>();
        foreach (var route in Command.RunJson("ip", ["-j", "-4", "route", "show", "table", "all"]).EnumerateArray())
            if (route.TryGetProperty("dst", out var dst) && dst.GetString() is { } d && d != "default"
                && (IPNetwork.TryParse(d, out var n) || (IPAddress.TryParse(d, out var a) && IPNetwork.TryParse(a + "/32", out n))))
                taken.Add(n);
        for (int i = 0; i < 256; i++)
        {
            int octet = Random.Shared.Next(256);
            var candidate = new IPNetwork(new IPAddress([10, 253, (byte)octet, 0]), 24);
            if (!taken.Any(t => t.Contains(candidate.BaseAddress) || candidate.Contains(t.BaseAddress))) return octet;
        }
        throw new InvalidOperationException("no free /24 in 10.253.0.0/16");
    }

    public void Dispose()
    {
        _dnsmasq.Dispose();
        Command.Run("ip", ["link", "del", HostInterface], check: false);
        Namespace.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }
}

public sealed class BridgedTests
{
    private static Task<NetworkInfo> CreateBridged(TestDaemon daemon, string iface) =>
        daemon.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = TestDaemon.UniqueName("br"), Mode = $"bridged:{iface}" });

    [LinuxRootFact]
    public async Task A_bridged_guest_gets_its_lease_from_the_LAN_and_reaches_it_whatever_the_host_routes()
    {
        using var lan = BridgeLan.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await CreateBridged(daemon, lan.HostInterface);
        Assert.Equal("bridged", net.Mode);
        Assert.Equal(lan.HostInterface, net.BridgeInterface);
        Assert.Equal(lan.HostInterface, (await daemon.Client.GetNetworkAsync(net.Name)).BridgeInterface);

        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "g1");
        var env = guest.Dhcp();
        // dnsmasq's lease, not ours: in its range, with its router, and nowhere near the network's own subnet.
        Assert.StartsWith(lan.Prefix, env["ip"]);
        int host = int.Parse(env["ip"][lan.Prefix.Length..]);
        Assert.InRange(host, 100, 150);
        Assert.Equal(lan.Router, env["router"].Trim());
        Assert.Equal(lan.Router, env["serverid"].Trim());

        // The daemon learnt the address from dnsmasq's ACK (the guard now allows exactly it), and keeps it as the lease.
        Assert.Equal(env["ip"], (await guest.RefreshAsync()).Ipv4);
        var lease = Assert.Single(await daemon.Client.ListLeasesAsync(net.Name));
        Assert.Equal(env["ip"], lease.Ipv4);
        Assert.Equal("bound", lease.State);

        Assert.True(lan.Ping(env["ip"]), "the LAN does not reach the guest");
        Assert.True(guest.Ping(lan.Router), "the guest does not reach the LAN");

        // Move the host's route to the LAN elsewhere (a veth pair of the test's own): a bridged guest
        // never uses the host's routes, so nothing changes for it.
        string decoy = $"sydm{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        Command.Run("ip", ["link", "add", decoy, "type", "veth", "peer", "name", decoy + "p"]);
        try
        {
            Command.Run("ip", ["link", "set", decoy, "up"]);
            Command.Run("ip", ["link", "set", decoy + "p", "up"]);
            Command.Run("ip", ["route", "add", lan.Subnet, "dev", decoy]);
            var viaHost = Command.RunJson("ip", ["-j", "route", "get", lan.Router]);
            Assert.Equal(decoy, viaHost[0].GetProperty("dev").GetString());
            Assert.True(guest.Ping(lan.Router), "the guest lost the LAN when the host's route moved");
            Assert.True(lan.Ping(env["ip"]), "the LAN lost the guest when the host's route moved");
        }
        finally
        {
            Command.Run("ip", ["link", "del", decoy], check: false);   // takes its route with it
        }

        // A restarted daemon knows the LAN's lease: the guest goes on without asking again.
        await daemon.RestartAsync();
        Assert.Equal(env["ip"], (await guest.RefreshAsync()).Ipv4);
        Assert.True(guest.Ping(lan.Router), "the guest lost the LAN across a daemon restart");
        Assert.True(lan.Ping(env["ip"]), "the LAN lost the guest across a daemon restart");
    }

    [LinuxRootFact]
    public async Task Guests_of_two_networks_bridged_to_one_interface_share_its_LAN()
    {
        using var lan = BridgeLan.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var first = await CreateBridged(daemon, lan.HostInterface);
        var second = await CreateBridged(daemon, lan.HostInterface);
        Assert.Null(first.Warnings);
        using var a = await Guest.AttachAsync(daemon.Client, first.Name, "a");
        using var b = await Guest.AttachAsync(daemon.Client, second.Name, "b");
        var envA = a.Dhcp();
        var envB = b.Dhcp();
        Assert.StartsWith(lan.Prefix, envA["ip"]);
        Assert.StartsWith(lan.Prefix, envB["ip"]);
        Assert.NotEqual(envA["ip"], envB["ip"]);
        // Each network's socket sees the other's frames as the interface's outgoing traffic.
        Assert.True(a.Ping(envB["ip"]), "a does not reach b");
        Assert.True(b.Ping(envA["ip"]), "b does not reach a");
        Assert.True(a.Ping(lan.Router) && b.Ping(lan.Router), "a guest does not reach the LAN");
    }

    [LinuxRootFact]
    public async Task A_bridged_network_whose_interface_is_gone_at_restart_comes_back_and_says_so()
    {
        await using var daemon = await TestDaemon.StartAsync();
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        string iface = $"sygn{id}";
        Command.Run("ip", ["link", "add", iface, "type", "veth", "peer", "name", iface + "p"]);
        try
        {
            Command.Run("ip", ["link", "set", iface, "up"]);
            Command.Run("ip", ["link", "set", iface + "p", "up"]);
            var net = await CreateBridged(daemon, iface);
            Assert.Null(net.Warnings);
            await daemon.StopAsync();
        }
        finally
        {
            Command.Run("ip", ["link", "del", iface], check: false);
        }
        await daemon.RestartAsync();
        var restored = Assert.Single(await daemon.Client.ListNetworksAsync(), n => n.Mode == "bridged");
        Assert.Equal(iface, restored.BridgeInterface);
        var warning = Assert.Single(restored.Warnings!);
        Assert.Contains("not connected to the LAN", warning);
    }

    [LinuxRootFact]
    public async Task A_network_updated_to_bridged_is_checked_like_a_create_and_then_joins_the_LAN()
    {
        using var lan = BridgeLan.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        var refused = await Assert.ThrowsAsync<SwitchyardApiException>(() => daemon.Client.UpdateNetworkAsync(net.Name, new NetworkUpdateRequest { Mode = "bridged:lo" }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("nat", (await daemon.Client.GetNetworkAsync(net.Name)).Mode);

        var bridged = await daemon.Client.UpdateNetworkAsync(net.Name, new NetworkUpdateRequest { Mode = $"bridged:{lan.HostInterface}" });
        Assert.Equal("bridged", bridged.Mode);
        Assert.Equal(lan.HostInterface, bridged.BridgeInterface);
        Assert.Null(bridged.Nat);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "g1");
        var env = guest.Dhcp();
        Assert.StartsWith(lan.Prefix, env["ip"]);
        Assert.True(guest.Ping(lan.Router));

        // And back: the uplink goes with the bridged network.
        guest.Dispose();
        var nat = await daemon.Client.UpdateNetworkAsync(net.Name, new NetworkUpdateRequest { Mode = "nat" });
        Assert.Null(nat.BridgeInterface);
        Assert.NotNull(nat.Nat);
    }

    [LinuxRootFact]
    public async Task A_bridged_guest_may_send_only_from_the_address_the_LAN_gave_it()
    {
        using var lan = BridgeLan.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var net = await CreateBridged(daemon, lan.HostInterface);
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "g1");
        var env = guest.Dhcp();
        string spoofed = lan.Prefix + "200";
        guest.Exec("ip", "addr", "add", $"{spoofed}/24", "dev", "eth0");
        // The router's MAC is learnt first from the real address, so what the spoofed ping sends is ICMP, not ARP.
        Assert.True(guest.Ping(lan.Router, from: env["ip"]));
        Assert.True(guest.PingGetsNoReply(lan.Router, from: spoofed), "a spoofed source reached the LAN");
        Assert.True(guest.Ping(lan.Router, from: env["ip"]));
        var ep = await guest.RefreshAsync();
        Assert.True(ep.Counters!.Drops.GetValueOrDefault("spoofed-ip") > 0, JsonSerializer.Serialize(ep.Counters.Drops));
    }

    [LinuxRootFact]
    public async Task Bad_bridges_are_one_line_errors_and_create_nothing()
    {
        using var lan = BridgeLan.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var before = (await daemon.Client.ListNetworksAsync()).Select(n => n.Name).ToHashSet();

        async Task<SwitchyardApiException> Refused(string mode)
        {
            var e = await Assert.ThrowsAsync<SwitchyardApiException>(() =>
                daemon.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = TestDaemon.UniqueName("bad"), Mode = mode }));
            Assert.DoesNotContain('\n', e.Message);
            return e;
        }

        var missing = await Refused("bridged:sy-no-such0");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("no such interface", missing.Message);
        var loopback = await Refused("bridged:lo");
        Assert.Equal(HttpStatusCode.BadRequest, loopback.StatusCode);
        Assert.Contains("loopback", loopback.Message);
        foreach (var typo in new[] { "bridge", "bridgd", "Bridged", "bridged:", "brided:" + lan.HostInterface })
            Assert.Equal(HttpStatusCode.BadRequest, (await Refused(typo)).StatusCode);

        // An interface that is down.
        Command.Run("ip", ["link", "set", lan.HostInterface, "down"]);
        var down = await Refused($"bridged:{lan.HostInterface}");
        Assert.Equal(HttpStatusCode.BadRequest, down.StatusCode);
        Assert.Contains("down", down.Message);
        Command.Run("ip", ["link", "set", lan.HostInterface, "up"]);

        Assert.Equal(before, (await daemon.Client.ListNetworksAsync()).Select(n => n.Name).ToHashSet());

        // Two networks on one LAN: allowed, but a MAC may be on one of them only.
        var first = await CreateBridged(daemon, lan.HostInterface);
        var second = await CreateBridged(daemon, lan.HostInterface);
        string mac = "02:5b:00:00:00:01";
        using var a = await Guest.AttachAsync(daemon.Client, first.Name, "a", customize: r => r with { Mac = mac });
        var clash = await Assert.ThrowsAsync<SwitchyardApiException>(() => Guest.AttachAsync(daemon.Client, second.Name, "b", customize: r => r with { Mac = mac }));
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.Contains(first.Name, clash.Message);
        Assert.DoesNotContain('\n', clash.Message);
        Assert.Empty(await daemon.Client.ListEndpointsAsync(second.Name));
        Assert.Empty((await daemon.Client.ListLeasesAsync(second.Name)));

        // --configure would give the guest our addresses: refused on a bridged network.
        var configure = await Assert.ThrowsAsync<SwitchyardApiException>(() =>
            Guest.AttachAsync(daemon.Client, second.Name, "c", customize: r => r with { Transport = r.Transport with { Configure = true } }));
        Assert.Equal(HttpStatusCode.BadRequest, configure.StatusCode);
        var pinned = await Assert.ThrowsAsync<SwitchyardApiException>(() => Guest.AttachAsync(daemon.Client, second.Name, "d", ip: "10.0.0.5"));
        Assert.Equal(HttpStatusCode.BadRequest, pinned.StatusCode);
        Assert.Empty(await daemon.Client.ListEndpointsAsync(second.Name));
    }

    [LinuxRootFact]
    public async Task Cli_lists_interfaces_and_refuses_bad_bridges_in_one_line()
    {
        using var lan = BridgeLan.Start();
        await using var daemon = await TestDaemon.StartAsync();
        var json = Yard(daemon, "interfaces", "--format", "json");
        Assert.True(json.ExitCode == 0, json.StdErr);
        using (var doc = JsonDocument.Parse(json.StdOut))
        {
            var veth = doc.RootElement.EnumerateArray().Single(i => i.GetProperty("name").GetString() == lan.HostInterface);
            Assert.Equal("veth", veth.GetProperty("kind").GetString());
            Assert.True(veth.GetProperty("canBridge").GetBoolean());
            Assert.Matches("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", veth.GetProperty("mac").GetString());
            var lo = doc.RootElement.EnumerateArray().Single(i => i.GetProperty("name").GetString() == "lo");
            Assert.Equal("loopback", lo.GetProperty("kind").GetString());
            Assert.False(lo.GetProperty("canBridge").GetBoolean());
            Assert.Contains("127.0.0.1/8", lo.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        }
        var table = Yard(daemon, "interfaces");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains(lan.HostInterface, table.StdOut);

        foreach (var mode in new[] { "bridged:sy-no-such0", "bridged:lo", "bridgd" })
        {
            var r = Yard(daemon, "network", "create", TestDaemon.UniqueName("bad"), "--mode", mode);
            Assert.Equal(1, r.ExitCode);
            var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1 && lines[0].StartsWith("yard: ", StringComparison.Ordinal), $"stderr: {r.StdErr}");
        }
        var ok = Yard(daemon, "network", "create", TestDaemon.UniqueName("br"), "--mode", $"bridged:{lan.HostInterface}");
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        var ls = Yard(daemon, "network", "ls");
        Assert.Contains($"bridged:{lan.HostInterface}", ls.StdOut);
        Assert.DoesNotContain("bad", ls.StdOut);
    }

    private static Command.Result Yard(TestDaemon daemon, params string[] args) =>
        Command.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "yard.dll"), "--socket", daemon.SocketPath, .. args], check: false, timeoutMs: 30_000);
}
