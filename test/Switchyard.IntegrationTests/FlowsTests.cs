using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>GET /networks/{net}/flows with a real guest: a namespace guest holds a TCP connection
/// to the <see cref="OutsideWorld"/>'s echo server through the NAT, and the API lists it, named by
/// the guest's endpoint, with the bytes that went each way.</summary>
public sealed class FlowsTests
{
    // Connects, sends 1000 bytes, reads the echo, says so, then holds the connection open a while.
    private const string HoldConnection = """
        import socket, sys, time
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
        s.sendall(b"x" * 1000)
        got = 0
        while got < 1000:
            chunk = s.recv(4096)
            if not chunk: sys.exit("closed early")
            got += len(chunk)
        print("echoed", flush=True)
        time.sleep(float(sys.argv[3]))
        s.close()
        """;

    [LinuxRootFact]
    public async Task A_guest_connection_through_the_nat_is_listed_with_its_bytes()
    {
        await using var lan = await NatLan.StartAsync();
        var holder = Task.Run(() => lan.Guest.TryExec(60_000, "python3", "-c", HoldConnection, lan.Outside.Address, OutsideWorld.EchoPort.ToString(), "8"));

        string destination = $"{lan.Outside.Address}:{OutsideWorld.EchoPort}";
        FlowInfo? flow = null;
        await Eventually.UntilAsync(async () =>
        {
            var flows = await lan.Daemon.Client.ListFlowsAsync(lan.Net.Name);
            flow = flows.FirstOrDefault(f => f.Protocol == "tcp" && f.Destination == destination);
            return flow is { BytesFromGuest: >= 1000, BytesToGuest: >= 1000 } || holder.IsCompleted;
        }, TimeSpan.FromSeconds(30), () => $"flows: {flow}");
        Assert.False(holder.IsCompleted && holder.Result.ExitCode != 0, holder.IsCompleted ? holder.Result.StdErr : null);

        Assert.NotNull(flow);
        Assert.Equal("inside", flow.Endpoint);
        Assert.StartsWith(lan.Guest.Endpoint.Ipv4 + ":", flow.Guest);
        Assert.Equal("established", flow.State);
        Assert.Equal(1000, flow.BytesFromGuest);
        Assert.Equal(1000, flow.BytesToGuest);
        Assert.False(flow.Published);

        var done = await holder;
        Assert.True(done.ExitCode == 0, done.StdErr);
        Assert.Contains("echoed", done.StdOut);
    }
}
