using System.Globalization;
using System.Security.Cryptography;

namespace Switchyard.Testing;

/// <summary>
/// Two Switchyard hosts on one machine (issue 14, docs/multi-host.md): host A is an in-process
/// <see cref="TestDaemon"/> in the test's own network namespace (so its NAT reaches an
/// <see cref="OutsideWorld"/> like any test's), host B a <see cref="NamespacedDaemon"/> in a namespace
/// of its own. The underlay between them is one veth pair on a /24 of 10.249.0.0/16 that no host route
/// or address overlaps (picked under the same machine-wide lock as <see cref="OutsideWorld"/>'s): A's
/// end (<see cref="UnderlayInterface"/>) is .1, B's (eth0 in <see cref="HostB"/>) is .2, MTU 1500, so
/// a VXLAN network's guests get 1450. <see cref="AddUnderlayAddress"/> adds more addresses on A's end,
/// for a third peer or a stranger the test plays itself with a UDP socket.
/// <para>Networks go through the real CLI (<see cref="YardCli"/>): <see cref="CreateGatewayNetwork"/> on A
/// (nat, or another gateway mode, with <c>--vxlan</c>), <see cref="CreateJoiningNetwork"/> on B
/// (<c>--mode bridged:vxlan</c>), both with this pair's <see cref="Vni"/> and each other as peer.</para>
/// <para>Dispose stops both daemons (detaching their endpoints), deletes the veth and B's namespace.</para>
/// </summary>
public sealed class TwoHosts : IAsyncDisposable
{
    private readonly List<string> _extraAddresses = [];
    private int _disposed;

    private TwoHosts(TestNamespace hostB, string underlayInterface, int octet)
    {
        HostB = hostB;
        UnderlayInterface = underlayInterface;
        Octet = octet;
        // 1 and 2^24-1 avoided: a VNI no hand-made kernel device on this machine is likely to use.
        Vni = RandomNumberGenerator.GetInt32(2, (1 << 24) - 1);
    }

    public TestDaemon A { get; private set; } = null!;
    public NamespacedDaemon B { get; private set; } = null!;
    public YardCli CliA { get; private set; } = null!;
    public YardCli CliB => B.Cli;
    /// <summary>Host B's network namespace (its daemon's sockets, its end of the underlay).</summary>
    public TestNamespace HostB { get; }
    /// <summary>A's end of the underlay veth, in the test's namespace.</summary>
    public string UnderlayInterface { get; }
    private int Octet { get; }
    public string AddressA => $"10.249.{Octet}.1";
    public string AddressB => $"10.249.{Octet}.2";
    public string UnderlaySubnet => $"10.249.{Octet}.0/24";
    /// <summary>The VNI both hosts' networks use (random per instance, so parallel tests never share a segment).</summary>
    public int Vni { get; }

    /// <param name="resolvConfA">Host A's <c>--resolv-conf</c> (<see cref="TestDaemon.StartAsync"/>).</param>
    public static async Task<TwoHosts> StartAsync(string? resolvConfA = null)
    {
        var ns = TestNamespace.Create("sy-hostb");
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        TwoHosts? hosts = null;
        try
        {
            string hostIf = $"syu{id}"; // 9 characters: well inside IFNAMSIZ
            int octet;
            using (OutsideWorld.SubnetLock.Acquire(TimeSpan.FromSeconds(60)))
            {
                octet = OutsideWorld.PickFreeOctet(249);
                Command.Run("ip", ["link", "add", hostIf, "mtu", "1500", "type", "veth", "peer", "name", "eth0", "netns", ns.Name, "mtu", "1500"]);
                hosts = new TwoHosts(ns, hostIf, octet); // from here on Dispose deletes the veth
                Command.Run("ip", ["addr", "add", $"{hosts.AddressA}/24", "dev", hostIf]);
            }
            Command.Run("ip", ["link", "set", hostIf, "up"]);
            ns.Ip("link", "set", "lo", "up");
            ns.Ip("addr", "add", $"{hosts.AddressB}/24", "dev", "eth0");
            ns.Ip("link", "set", "eth0", "up");
            hosts.A = await TestDaemon.StartAsync(resolvConfA);
            hosts.CliA = new YardCli(hosts.A.SocketPath);
            hosts.B = await NamespacedDaemon.StartAsync(ns.Name);
            return hosts;
        }
        catch
        {
            if (hosts is not null) await hosts.DisposeAsync();
            else ns.Dispose();
            throw;
        }
    }

    /// <summary>Adds 10.249.X.<paramref name="host"/> to A's end of the underlay (a third peer's or a
    /// stranger's address, in the test's namespace) and returns it.</summary>
    public string AddUnderlayAddress(int host)
    {
        string address = $"10.249.{Octet}.{host.ToString(CultureInfo.InvariantCulture)}";
        Command.Run("ip", ["addr", "add", $"{address}/24", "dev", UnderlayInterface]);
        _extraAddresses.Add(address);
        return address;
    }

    /// <summary>`yard network create NAME --mode MODE --subnet S --vxlan VNI --vxlan-local A --vxlan-peer B
    /// [extra...]` on host A, on a random 10.2xx.y.0/24 (another tries while the planner says it overlaps);
    /// returns the subnet.</summary>
    public string CreateGatewayNetwork(string name, string mode = "nat", params string[] extra)
    {
        for (int attempt = 0; ; attempt++)
        {
            string subnet = $"10.{Random.Shared.Next(200, 249)}.{Random.Shared.Next(0, 256)}.0/24";
            var r = CliA.Run(["network", "create", name, "--mode", mode, "--subnet", subnet, "--vxlan", Vni.ToString(CultureInfo.InvariantCulture),
                "--vxlan-local", AddressA, "--vxlan-peer", AddressB, .. extra], check: false);
            if (r.ExitCode == 0) return subnet;
            if (!r.StdErr.Contains("overlaps", StringComparison.Ordinal) || attempt >= 10)
                throw new InvalidOperationException($"yard network create {name} on host A: {r.StdErr.Trim()}");
        }
    }

    /// <summary>`yard network create NAME --mode bridged:vxlan --vxlan VNI --vxlan-local B --vxlan-peer A [extra...]` on host B.</summary>
    public void CreateJoiningNetwork(string name, params string[] extra) =>
        CliB.Run(["network", "create", name, "--mode", "bridged:vxlan", "--vxlan", Vni.ToString(CultureInfo.InvariantCulture),
            "--vxlan-local", AddressB, "--vxlan-peer", AddressA, .. extra]);

    /// <summary>`yard network inspect NAME` on host A or B, parsed.</summary>
    public static System.Text.Json.JsonElement Inspect(YardCli cli, string name) => cli.Json("network", "inspect", name);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Best effort throughout: a failing cleanup must not hide the test's own failure.
        try { if (B is not null) await B.DisposeAsync(); }
        finally
        {
            try { if (A is not null) await A.DisposeAsync(); }
            finally
            {
                Command.Run("ip", ["link", "del", UnderlayInterface], check: false);
                HostB.Dispose();
            }
        }
    }
}
