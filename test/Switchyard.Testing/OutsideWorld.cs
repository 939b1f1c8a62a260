using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace Switchyard.Testing;

/// <summary>One veth pair between the host and an <see cref="OutsideWorld"/>'s namespace, with its own /24:
/// the host end is .1, the namespace end .2. The first path also has an IPv6 /64, fd00:250:X::/64 (host ::1,
/// namespace ::2), for NAT66 tests.</summary>
public sealed record OutsidePath(string HostInterface, string NamespaceInterface, string HostAddress, string NamespaceAddress, string Subnet);

/// <summary>
/// "The outside": a namespace the HOST reaches through a veth pair (not a guest: guests get here only through the
/// daemon's NAT, i.e. through host sockets). Each instance takes a /24 of 10.250.0.0/16 that no host route or address
/// overlaps (picked under a machine-wide lock, so parallel runs never share one); host end .1, namespace end
/// <see cref="Address"/> = .2. Inside run nginx (<see cref="HttpPort"/>: index.html = <see cref="IndexPage"/> and
/// <see cref="BigFileName"/>, 200 MB whose hash is <see cref="BigFileSha256"/>), `iperf3 -s` (<see cref="IperfPort"/>),
/// a TCP and UDP echo server (<see cref="EchoPort"/>), a reply-after-EOF server for half-close tests
/// (<see cref="ReplyAfterEofPort"/>), and the kernel answers ping. <see cref="ClosedTcpPort"/> and
/// <see cref="ClosedUdpPort"/> have nothing behind them.
/// <para>Route changes: <see cref="AddPath"/> adds a second veth pair (another /24) to the same namespace,
/// <see cref="RouteVia"/> points the host's /32 route for <see cref="Address"/> at a path and
/// <see cref="SetLinkUp"/> takes a path's host end down, so new host connections to <see cref="Address"/> take the
/// other path while the address itself never changes.</para>
/// <para>Dispose kills the servers by PID, deletes the host ends of the veth pairs (their routes go with them) and the
/// namespace.</para>
/// </summary>
public sealed class OutsideWorld : IDisposable
{
    public const int HttpPort = 80;
    public const int IperfPort = 5201;
    public const int EchoPort = 7;
    public const int ReplyAfterEofPort = 9;
    public const int ClosedTcpPort = 81;
    public const int ClosedUdpPort = 8;
    public const string BigFileName = "big.bin";
    public const long BigFileBytes = 200L << 20;

    private const string LockFile = "switchyard-outside-subnets.lock";
    private static readonly Lazy<(string Path, string Sha256)> s_bigFile = new(MakeBigFile);
    private readonly List<OutsidePath> _paths = [];
    private readonly List<IDisposable> _servers = [];
    private readonly string _scratch;
    private readonly string _id;
    private int _disposed;

    private OutsideWorld(TestNamespace ns, string id, string scratch)
    {
        Namespace = ns;
        _id = id;
        _scratch = scratch;
        IndexPage = $"switchyard outside {id}\n";
    }

    public TestNamespace Namespace { get; }
    /// <summary>The first path: the one <see cref="Address"/> lives on.</summary>
    public OutsidePath Primary => _paths[0];
    public IReadOnlyList<OutsidePath> Paths => _paths;
    /// <summary>The outside's address, 10.250.X.2 (the namespace end of <see cref="Primary"/>).</summary>
    public string Address => Primary.NamespaceAddress;
    /// <summary>The outside's IPv6 address, fd00:250:X::2 (the namespace end of <see cref="Primary"/>).</summary>
    public string Ipv6Address { get; private set; } = "";
    /// <summary>http://[fd00:250:X::2]/ (nginx listens on both families).</summary>
    public string Url6(string path = "") => $"http://[{Ipv6Address}]:{HttpPort}/{path}";
    /// <summary>The host's end of <see cref="Primary"/>, 10.250.X.1.</summary>
    public string HostSideAddress => Primary.HostAddress;
    /// <summary>The exact body of http://ADDRESS/ (unique per instance).</summary>
    public string IndexPage { get; }
    public string Url(string path = "") => $"http://{Address}:{HttpPort}/{path}";

    /// <summary>SHA-256 (lowercase hex) of <see cref="BigFileName"/>: random bytes made once per test process.</summary>
    public static string BigFileSha256 => s_bigFile.Value.Sha256;

    /// <param name="http">False: no nginx on <see cref="HttpPort"/> (a fixture that serves its own sites there, like
    /// <see cref="EgressWorld"/>; <see cref="Url"/> then leads nowhere).</param>
    public static OutsideWorld Start(bool http = true)
    {
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var ns = TestNamespace.Create("sy-out");
        var world = new OutsideWorld(ns, id, Directory.CreateTempSubdirectory("sy-outside-").FullName);
        try
        {
            world.Namespace.Ip("link", "set", "lo", "up");
            world.AddPath();
            world.StartServers(http);
            return world;
        }
        catch
        {
            world.Dispose();
            throw;
        }
    }

    /// <summary>Adds a veth pair on a fresh /24 to the namespace (eth0, eth1, ...). The host reaches the new
    /// namespace address through it at once; <see cref="Address"/> keeps its route until <see cref="RouteVia"/>.</summary>
    public OutsidePath AddPath()
    {
        int index = _paths.Count;
        string hostIf = $"syo{_id}{index}"; // 10 characters: well inside IFNAMSIZ
        string nsIf = $"eth{index}";
        using (var subnets = SubnetLock.Acquire(TimeSpan.FromSeconds(60)))
        {
            int octet = PickFreeOctet();
            var path = new OutsidePath(hostIf, nsIf, $"10.250.{octet}.1", $"10.250.{octet}.2", $"10.250.{octet}.0/24");
            Command.Run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", Namespace.Name]);
            _paths.Add(path); // from here on Dispose deletes it
            Command.Run("ip", ["addr", "add", $"{path.HostAddress}/24", "dev", hostIf]);
            Command.Run("ip", ["link", "set", hostIf, "up"]);
            Namespace.Ip("addr", "add", $"{path.NamespaceAddress}/24", "dev", nsIf);
            if (index == 0)
            {
                // IPv6 on the first path: a ULA /64 of the same X, no DAD (the addresses are usable at once).
                Command.Run("ip", ["-6", "addr", "add", $"fd00:250:{octet:x}::1/64", "dev", hostIf, "nodad"]);
                Namespace.Ip("-6", "addr", "add", $"fd00:250:{octet:x}::2/64", "dev", nsIf, "nodad");
                Ipv6Address = $"fd00:250:{octet:x}::2";
            }
            Namespace.Ip("link", "set", nsIf, "up");
            return path;
        }
    }

    /// <summary>`ip route replace ADDRESS/32` through <paramref name="path"/>: the host's new connections to
    /// <see cref="Address"/> leave through that veth (from that path's host address).</summary>
    public void RouteVia(OutsidePath path)
    {
        if (path == Primary)
            Command.Run("ip", ["route", "replace", $"{Address}/32", "dev", path.HostInterface, "src", path.HostAddress]);
        else
            Command.Run("ip", ["route", "replace", $"{Address}/32", "via", path.NamespaceAddress, "dev", path.HostInterface, "src", path.HostAddress]);
    }

    /// <summary>Sets the host end of <paramref name="path"/> up or down (down also takes its routes away).</summary>
    public void SetLinkUp(OutsidePath path, bool up) =>
        Command.Run("ip", ["link", "set", path.HostInterface, up ? "up" : "down"]);

    /// <summary>The interface the host's route to <see cref="Address"/> uses right now (`ip route get`).</summary>
    public string HostRouteInterface()
    {
        var r = Command.RunJson("ip", ["-j", "route", "get", Address]);
        return r[0].GetProperty("dev").GetString() ?? "";
    }

    private void StartServers(bool http)
    {
        string www = Path.Combine(_scratch, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), IndexPage);
        File.CreateSymbolicLink(Path.Combine(www, BigFileName), s_bigFile.Value.Path);

        if (http) _servers.Add(NginxServer.Start(Namespace, www, HttpPort));
        var iperf = Namespace.StartServer("iperf3", "-s", "-p", IperfPort.ToString());
        _servers.Add(iperf);
        var echo = Namespace.StartServer("python3", "-c", Scripts.Servers, EchoPort.ToString(), ReplyAfterEofPort.ToString());
        _servers.Add(echo);
        Namespace.WaitForListening([IperfPort, EchoPort, ReplyAfterEofPort], [EchoPort], TimeSpan.FromSeconds(15), iperf, echo);
    }

    /// <summary>A third octet X such that 10.<paramref name="second"/>.X.0/24 overlaps no route (any table) and no
    /// address on the host; call it under <see cref="SubnetLock"/> and claim the /24 before releasing it.</summary>
    internal static int PickFreeOctet(byte second = 250)
    {
        var taken = new List<IPNetwork>();
        foreach (var route in Command.RunJson("ip", ["-j", "-4", "route", "show", "table", "all"]).EnumerateArray())
        {
            if (route.TryGetProperty("dst", out var dst) && dst.GetString() is { } d && d != "default" && TryPrefix(d, out var n)) taken.Add(n);
        }
        foreach (var link in Command.RunJson("ip", ["-j", "-4", "addr", "show"]).EnumerateArray())
        {
            if (!link.TryGetProperty("addr_info", out var infos)) continue;
            foreach (var a in infos.EnumerateArray())
                if (a.TryGetProperty("local", out var local) && IPAddress.TryParse(local.GetString(), out var ip))
                    taken.Add(new IPNetwork(ip, 32));
        }
        var start = Random.Shared.Next(256);
        for (int i = 0; i < 256; i++)
        {
            int octet = (start + i) % 256;
            var candidate = new IPNetwork(new IPAddress([10, second, (byte)octet, 0]), 24);
            if (!taken.Any(t => t.Contains(candidate.BaseAddress) || candidate.Contains(t.BaseAddress))) return octet;
        }
        throw new InvalidOperationException($"no free /24 left in 10.{second}.0.0/16 on this host");
    }

    private static bool TryPrefix(string text, out IPNetwork network)
    {
        if (IPNetwork.TryParse(text, out network)) return true;
        if (IPAddress.TryParse(text, out var ip)) { network = new IPNetwork(ip, 32); return true; }
        return false;
    }

    private static (string Path, string Sha256) MakeBigFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sy-outside-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}.bin");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { File.Delete(path); } catch (IOException) { } };
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
        {
            for (long written = 0; written < BigFileBytes; written += buffer.Length)
            {
                RandomNumberGenerator.Fill(buffer);
                hash.AppendData(buffer);
                file.Write(buffer);
            }
        }
        return (path, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        for (int i = _servers.Count - 1; i >= 0; i--) _servers[i].Dispose();
        foreach (var path in _paths) Command.Run("ip", ["link", "del", path.HostInterface], check: false);
        Namespace.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }

    /// <summary>A machine-wide lock around picking and claiming a /24 (flock on a file in the temp directory, released
    /// when this process dies), so two test processes never take the same one.</summary>
    internal sealed class SubnetLock : IDisposable
    {
        private readonly FileStream _file;
        private SubnetLock(FileStream file) => _file = file;

        public static SubnetLock Acquire(TimeSpan timeout)
        {
            string path = Path.Combine(Path.GetTempPath(), LockFile);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                try { return new SubnetLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)); }
                catch (IOException) when (clock.Elapsed < timeout) { Thread.Sleep(20); }
            }
        }

        public void Dispose() => _file.Dispose();
    }
}

/// <summary>The python scripts under Outside/, embedded in this assembly (run with `python3 -c SCRIPT ARGS...`).</summary>
internal static class Scripts
{
    public static string Servers { get; } = Read("outside-servers.py");
    public static string Probes { get; } = Read("outside-probes.py");

    private static string Read(string name)
    {
        using var stream = typeof(Scripts).Assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"resource {name} missing");
        return new StreamReader(stream).ReadToEnd();
    }
}
