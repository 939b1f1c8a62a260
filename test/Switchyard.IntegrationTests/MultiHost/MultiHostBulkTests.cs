using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// Bulk TCP between guests on two hosts: the path the tunnel's UDP GSO and its software GRO
/// (TcpCoalescer: a train of one connection's segments reaches the far guest's TAP as one
/// virtio-net GSO frame, its checksum left for nobody to check) carry. Every byte must arrive as sent.
/// </summary>
public sealed class MultiHostBulkTests
{
    private const int Bytes = 8 << 20;

    /// <summary>Reads one connection to its end; prints the byte count and their SHA-256.</summary>
    private const string Server = """
        import hashlib, socket, sys
        s = socket.create_server(("0.0.0.0", int(sys.argv[1])))
        print("listening", flush=True)
        c, _ = s.accept()
        h, n = hashlib.sha256(), 0
        while True:
            d = c.recv(1 << 16)
            if not d: break
            h.update(d); n += len(d)
        print(n, h.hexdigest(), flush=True)
        """;

    /// <summary>Sends pseudo-random bytes (seeded) in large writes; prints the count and their SHA-256.</summary>
    private const string Client = """
        import hashlib, random, socket, sys
        data = random.Random(14).randbytes(int(sys.argv[3]))
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
        c.sendall(data)
        c.close()
        print(len(data), hashlib.sha256(data).hexdigest())
        """;

    [LinuxRootFact]
    public async Task Bulk_tcp_between_guests_on_two_hosts_arrives_byte_for_byte_both_ways()
    {
        await using var hosts = await TwoHosts.StartAsync();
        string net = TestDaemon.UniqueName("mb");
        hosts.CreateGatewayNetwork(net, "nat", "--dns-upstream", "none");
        hosts.CreateJoiningNetwork(net);
        using var a1 = await Guest.AttachAsync(hosts.A.Client, net, "a1");
        a1.Dhcp();
        using var b1 = await Guest.AttachAsync(hosts.B.Client, net, "b1");
        string ipB = b1.DhcpAs("bulk")["ip"];
        string ipA = (await a1.RefreshAsync()).Ipv4!;
        Assert.True(a1.Ping(ipB), "host A's guest cannot ping host B's guest");

        await Transfer(from: a1, to: b1, ipB, 5601);
        await Transfer(from: b1, to: a1, ipA, 5602);

        foreach (var v in new[] { Vxlan.Of(hosts.CliA, net), Vxlan.Of(hosts.CliB, net) })
            foreach (var reason in new[] { "not-a-peer", "wrong-vni", "malformed", "bad-flags", "too-big" })
                Assert.True(v.Dropped(reason) == 0, $"{reason}: {v}");
    }

    private static async Task Transfer(Guest from, Guest to, string address, int port)
    {
        using var server = ChildProcess.Start("ip", ["netns", "exec", to.Namespace.Name, "python3", "-c", Server, port.ToString()]);
        await Eventually.UntilAsync(() => server.Output.Contains("listening"), TimeSpan.FromSeconds(10), () => server.Output);
        var sent = from.TryExec(60_000, "python3", "-c", Client, address, port.ToString(), Bytes.ToString());
        Assert.True(sent.ExitCode == 0, sent.StdErr);
        await Eventually.UntilAsync(() => server.HasExited, TimeSpan.FromSeconds(30), () => server.Output);
        Assert.Equal(sent.StdOut.Trim(), server.Output.Trim().Split('\n')[^1].Trim());
        Assert.StartsWith($"{Bytes} ", sent.StdOut);
    }
}
