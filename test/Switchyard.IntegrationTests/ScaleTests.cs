using System.Net;
using System.Net.Sockets;
using Switchyard.Testing;
using Xunit.Abstractions;

namespace Switchyard.IntegrationTests;

/// <summary>Issue 15's scale mechanisms in small (the bench's `scale` section runs them large: 128 guests,
/// 10,000 flows): many guests leasing at once and reaching each other, and a guest's thousand NAT flows
/// held, counted and drained, with the daemon's resident memory reported.</summary>
public sealed class ScaleTests(ITestOutputHelper output)
{
    private const int Guests = 16;
    private const int Flows = 1000;

    [LinuxRootFact]
    public async Task Sixteen_guests_lease_at_once_and_reach_each_other()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "scale", customize: r => r with { Mode = "nat" });
        var guests = new List<Guest>();
        try
        {
            for (int i = 0; i < Guests; i++) guests.Add(await Guest.AttachAsync(daemon.Client, net.Name, $"g{i}"));
            // Every DHCP client at once: the gateway's DHCP server answers them all (each udhcpc tries 5 times, 1 s apart).
            var leases = await Task.WhenAll(guests.Select(g => Task.Run(() => g.Dhcp())));
            var addresses = leases.Select(l => l["ip"]).ToArray();
            Assert.Equal(Guests, addresses.Distinct().Count());
            for (int i = 0; i < Guests; i++) Assert.Equal(guests[i].Endpoint.Ipv4, addresses[i]);

            // A sample of the pairs, both ways: each guest to the next and to the one half the ring away.
            var pings = await Task.WhenAll(Enumerable.Range(0, Guests).SelectMany(i => new[] { (i, (i + 1) % Guests), (i, (i + Guests / 2) % Guests) })
                .Select(p => Task.Run(() => (p, ok: guests[p.Item1].Ping(addresses[p.Item2], count: 1)))));
            var failed = pings.Where(p => !p.ok).Select(p => $"g{p.p.Item1} -> g{p.p.Item2}").ToArray();
            Assert.True(failed.Length == 0, $"no reply: {string.Join(", ", failed)}");
            var leaseList = await daemon.Client.ListLeasesAsync(net.Name);
            Assert.Equal(Guests, leaseList.Count(l => l.State == "bound"));
        }
        finally
        {
            foreach (var g in guests) g.Dispose();
        }
    }

    /// <summary>Opens argv[3] connections to argv[1]:argv[2] one after another, prints how many connected,
    /// then holds them until its stdin closes (the test ends it by killing the process: every socket closes).</summary>
    private const string HoldScript = """
        import resource, socket, sys
        host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
        held = []
        try:
            while len(held) < count:
                held.append(socket.create_connection((host, port), timeout=10))
        except OSError as e:
            print("connect:", e, file=sys.stderr, flush=True)
        print(len(held), flush=True)
        sys.stdin.read()
        """;

    [LinuxRootFact]
    public async Task A_thousand_nat_flows_from_one_guest_are_held_and_drain()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "flows", customize: r => r with { Mode = "nat" });
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "many");
        guest.Dhcp();
        using var server = new HoldingServer();
        long before = ResidentBytes();

        using (var client = guest.Namespace.StartServer("python3", "-c", HoldScript, net.Gateway, server.Port.ToString(), Flows.ToString()))
        {
            await Eventually.UntilAsync(() => client.Output.Contains('\n') || client.HasExited, TimeSpan.FromSeconds(120),
                () => $"the guest did not finish connecting: {client.Output}");
            Assert.Equal(Flows.ToString(), client.Output.Trim().Split('\n')[0]);
            await Eventually.UntilAsync(() => server.Accepted >= Flows, TimeSpan.FromSeconds(30), () => $"the host accepted {server.Accepted}");
            var nat = (await daemon.Client.GetNetworkAsync(net.Name)).Nat!;
            Assert.True(nat.TcpFlows >= Flows, $"the network counts {nat.TcpFlows} TCP flows, not {Flows}");
            Assert.True((await guest.RefreshAsync()).Flows!.Tcp >= Flows);
            long held = ResidentBytes();
            // The in-process daemon shares its process with the test host: the bench's rss section measures the shipped one.
            output.WriteLine($"test process VmRSS: {before >> 20} MB before, {held >> 20} MB with {Flows} NAT flows " +
                $"({(held - before) / Flows} bytes a flow, managed heap {GC.GetTotalMemory(false) >> 20} MB)");
        }

        // The guest's sockets closed with its process: each flow ends (FIN both ways, the host's side closed by the server on EOF).
        await Eventually.UntilAsync(async () => (await daemon.Client.GetNetworkAsync(net.Name)).Nat!.TcpFlows == 0, TimeSpan.FromSeconds(60),
            () => $"flows left: {daemon.Client.GetNetworkAsync(net.Name).GetAwaiter().GetResult().Nat!.TcpFlows}");
        await Eventually.UntilAsync(() => server.Open == 0, TimeSpan.FromSeconds(30), () => $"host connections still open: {server.Open}");
        output.WriteLine($"test process VmRSS once drained: {ResidentBytes() >> 20} MB");
    }

    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    /// <summary>A server on the host's loopback that accepts every connection and holds it until the peer closes.</summary>
    private sealed class HoldingServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _accepted, _open;

        public HoldingServer()
        {
            _listener.Start(4096);
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int Accepted => Volatile.Read(ref _accepted);
        public int Open => Volatile.Read(ref _open);

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    Interlocked.Increment(ref _open);
                    _ = HoldAsync(socket);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        }

        private async Task HoldAsync(Socket socket)
        {
            var buffer = new byte[16];
            try { while (await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0) { } }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
            finally
            {
                socket.Dispose();
                Interlocked.Decrement(ref _open);
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }
}
