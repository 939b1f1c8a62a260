using System.Net.Sockets;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>Counts the test process's open fds, so nothing else may run meanwhile.</summary>
[CollectionDefinition(nameof(FdCount), DisableParallelization = true)]
public sealed class FdCount;

/// <summary>Connections and handoffs that come and go leave no descriptors behind (the daemon is in-process).</summary>
[Collection(nameof(FdCount))]
public sealed class FdLeakTests
{
    private static int OpenFds() => Directory.GetFiles("/proc/self/fd").Length;

    [LinuxRootFact]
    public async Task Many_connections_and_handoffs_leave_the_fd_count_where_it_was()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string sock = Path.Combine(daemon.Directory, "leak.sock");
        await Vm.AttachAsync(daemon, net.Name, "leak", Vm.StreamListen(sock));
        var target = new UnixDomainSocketEndPoint(sock);
        var deadline = DateTime.UtcNow.AddSeconds(60);

        async Task Cycles(int count)
        {
            long before = (await daemon.Client.GetEndpointAsync(net.Name, "leak")).Transport.Connects ?? 0;
            for (int i = 0; i < count; i++)
            {
                Assert.True(DateTime.UtcNow < deadline, $"stuck after {i} connections");
                using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                s.Connect(target);
            }
            await RawFrames.WaitForAsync(daemon.Client, net.Name, "leak",
                e => e.Transport.Connects >= before + count && e.Transport.State == "listening", TimeSpan.FromSeconds(30));
        }

        async Task Handoffs(int count)
        {
            for (int i = 0; i < count; i++)
            {
                Assert.True(DateTime.UtcNow < deadline, $"stuck after {i} handoffs");
                using var attachment = await daemon.Client.AttachFdAsync(net.Name, "handed", stream: i % 2 == 1);
            }
            try { await daemon.Client.DetachEndpointAsync(net.Name, "handed"); }
            catch (Switchyard.Client.SwitchyardApiException) { /* the last stream pair detached itself */ }
        }

        // Warm up first: thread pool, epoll, SQLite, HTTP connections.
        await Cycles(20);
        await Handoffs(4);
        await Task.Delay(200);
        int start = OpenFds();

        await Cycles(1_000);
        int afterConnections = OpenFds();
        Assert.True(afterConnections <= start + 20, $"fds: {start} at the start, {afterConnections} after 1,000 connections");

        await Handoffs(200);
        int afterHandoffs = OpenFds();
        // The daemon closes a detached pair's fds on its own threads: allow for a loaded machine, end as soon as they are.
        var settled = System.Diagnostics.Stopwatch.StartNew();
        while (afterHandoffs > start + 20 && settled.Elapsed < Bounds.Generous)
        {
            await Task.Delay(100);
            afterHandoffs = OpenFds();
        }
        Assert.True(afterHandoffs <= start + 20, $"fds: {start} at the start, {afterHandoffs} after 200 handoffs");
        Assert.DoesNotContain(await daemon.Client.ListEndpointsAsync(net.Name), e => e.Name == "handed");
    }
}
