using System.Text.Json;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>Fair shares of the NAT with real guest kernels (issue 16, finding 2): one guest floods TCP
/// connections to a listener on the host's loopback (through the gateway's address), and another guest
/// on the same network still fetches every time. The network's cap is small (--max-flows 400) so the
/// flood stays bounded: without per-endpoint shares the flooder would hold all 400 and the other guest
/// would get none.</summary>
public sealed class FairShareTests
{
    private const int Flood = 2000;

    /// <summary>Opens argv[3] non-blocking connections to argv[1]:argv[2], waits up to 10 s for each to
    /// connect or fail, prints {"connected","refused","other","pending"} and holds them all for argv[4] seconds.</summary>
    private const string FloodScript = """
        import errno, json, resource, select, socket, sys, time
        host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
        socks, pending = [], {}
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            socks.append(s)
            pending[s.fileno()] = s
        poller = select.poll()
        for fd in pending: poller.register(fd, select.POLLOUT)
        result = {'connected': 0, 'refused': 0, 'other': 0}
        deadline = time.time() + 10
        while pending and time.time() < deadline:
            for fd, _ in poller.poll(200):
                s = pending.pop(fd, None)
                if s is None: continue
                poller.unregister(fd)
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                result['connected' if e == 0 else 'refused' if e == errno.ECONNREFUSED else 'other'] += 1
        result['pending'] = len(pending)
        print(json.dumps(result), flush=True)
        time.sleep(hold)
        """;

    [LinuxRootFact]
    public async Task A_guest_flooding_tcp_takes_only_its_share_and_another_guest_still_fetches()
    {
        await using var daemon = await TestDaemon.StartAsync(httpListen: true);
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "fair", customize: r => r with { Mode = "nat", MaxFlows = 400 });
        using var flooder = await Guest.AttachAsync(daemon.Client, net.Name, "flooder");
        using var victim = await Guest.AttachAsync(daemon.Client, net.Name, "victim", customize: r => r with { MaxFlows = 50 });
        flooder.Dhcp();
        victim.Dhcp();
        using var server = LoopbackHttpServer.Start();
        string url = $"http://{net.Gateway}:{server.Port}/";
        Assert.Equal(server.Body, OutsideProbes.Http(victim.TryExec, url).StdOut);

        using var flood = flooder.Namespace.StartServer("python3", "-c", FloodScript, net.Gateway, server.Port.ToString(), Flood.ToString(), "60");
        await Eventually.UntilAsync(() => Task.FromResult(flood.Output.Contains("\"pending\"", StringComparison.Ordinal) || flood.HasExited),
            TimeSpan.FromSeconds(60), () => $"the flood did not finish: {flood.Output}");
        var result = JsonDocument.Parse(flood.Output.Trim().Split('\n')[^1]).RootElement;
        int connected = result.GetProperty("connected").GetInt32(), refused = result.GetProperty("refused").GetInt32();

        // The flood is held open; the other guest fetches as if nothing happened.
        int fetched = 0;
        var failures = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            var r = OutsideProbes.Http(victim.TryExec, url, seconds: 5);
            if (r.ExitCode == 0 && r.StdOut == server.Body) fetched++;
            else failures.Add(r.StdErr.Trim());
        }
        Assert.True(fetched == 10, $"the other guest fetched {fetched}/10 during the flood ({flood.Output.Trim()}): {string.Join("; ", failures)}");

        var info = await daemon.Client.GetNetworkAsync(net.Name);
        Assert.Equal(400, info.MaxFlows);
        Assert.Equal(400, info.Nat!.MaxFlows);
        Assert.Equal(100, info.Nat.EndpointMaxFlows);   // a quarter of the network's

        // The flooder got its share and no more, and was told no at once (RST: ECONNREFUSED), every time.
        Assert.InRange(connected, 1, 100);
        Assert.Equal(Flood - connected, refused);
        var flows = (await flooder.RefreshAsync()).Flows!;
        Assert.Equal(100, flows.MaxFlows);
        Assert.Null(flows.Configured);
        Assert.True(flows.Refused!["endpoint-limit"] >= refused, $"refusals counted: {JsonSerializer.Serialize(flows.Refused)}");
        var victimFlows = (await victim.RefreshAsync()).Flows!;
        Assert.Equal(50, victimFlows.MaxFlows);
        Assert.Equal(50, victimFlows.Configured);
        Assert.Equal(0, victimFlows.Refused!["endpoint-limit"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{daemon.HttpListenAddress}/") };
        string metrics = await http.GetStringAsync("metrics");
        Assert.Contains($"switchyard_nat_endpoint_refused_total{{network=\"{net.Name}\",endpoint=\"flooder\",reason=\"endpoint-limit\"}}", metrics);

        // The caps are state: a restarted daemon has them (and a live update changes the network's).
        flood.Dispose();
        await daemon.RestartAsync();
        Assert.Equal(400, (await daemon.Client.GetNetworkAsync(net.Name)).MaxFlows);
        Assert.Equal(50, (await daemon.Client.GetEndpointAsync(net.Name, "victim")).Flows!.Configured);
        var updated = await daemon.Client.UpdateNetworkAsync(net.Name, new NetworkUpdateRequest { MaxFlows = 800 });
        Assert.Equal(800, updated.MaxFlows);
        Assert.Equal(200, updated.Nat!.EndpointMaxFlows);
    }
}
