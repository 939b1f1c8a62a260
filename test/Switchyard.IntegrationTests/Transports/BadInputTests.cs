using System.Diagnostics;
using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests.Transports;

/// <summary>Peers that break the framing, send oversize datagrams or stop reading, played with raw sockets (no QEMU).</summary>
public sealed class BadInputTests
{
    private sealed record Raw(TestDaemon Daemon, NetworkInfo Net) : IAsyncDisposable
    {
        public SwitchyardClient Client => Daemon.Client;
        public string Path(string name) => System.IO.Path.Combine(Daemon.Directory, name);
        public ValueTask DisposeAsync() => Daemon.DisposeAsync();

        public static async Task<Raw> StartAsync()
        {
            var daemon = await TestDaemon.StartAsync();
            try { return new Raw(daemon, await daemon.CreateNetworkAsync(["none"])); }
            catch { await daemon.DisposeAsync(); throw; }
        }

        /// <summary>A stream-listen endpoint with a fixed MAC, so raw ARP requests pass the port guard.</summary>
        public async Task<EndpointInfo> StreamEndpointAsync(string name) =>
            await Vm.AttachAsync(Daemon, Net.Name, name, Vm.StreamListen(Path(name + ".sock")), RawFrames.RandomMac());

        public async Task<bool> ArpAsync(StreamPeer peer, EndpointInfo ep) => await peer.ArpGatewayAsync(ep.Mac, ep.Ipv4, Net.Gateway);
    }

    private static readonly string[] StreamCases = ["zero-length", "over-mtu", "2^31", "truncated", "random"];

    private static byte[] Garbage(string kind, int mtu) => kind switch
    {
        "zero-length" => RawFrames.BigEndian(0),
        "over-mtu" => [.. RawFrames.BigEndian((uint)(mtu + 19)), .. new byte[mtu + 19]],
        "2^31" => [.. RawFrames.BigEndian(1u << 31), .. new byte[64]],
        "truncated" => [.. RawFrames.BigEndian(100), .. new byte[50]],
        // A first byte with its top bit set makes the length at least 2^31: never a valid frame.
        _ => System.Security.Cryptography.RandomNumberGenerator.GetBytes(256).Select((b, i) => i == 0 ? (byte)(b | 0x80) : b).ToArray(),
    };

    [LinuxRootFact]
    public async Task Stream_framing_errors_drop_the_connection_count_and_leave_the_endpoint_usable()
    {
        await using var raw = await Raw.StartAsync();
        var bad = await raw.StreamEndpointAsync("bad");
        var good = await raw.StreamEndpointAsync("good");
        using var goodPeer = await StreamPeer.ConnectAsync(raw.Path("good.sock"));
        Assert.True(await raw.ArpAsync(goodPeer, good), "good endpoint before");

        long errors = 0;
        foreach (var kind in StreamCases)
        {
            using (var peer = await StreamPeer.ConnectAsync(raw.Path("bad.sock")))
            {
                await peer.Socket.SendAsync(Garbage(kind, raw.Net.Mtu), SocketFlags.None);
                if (kind == "truncated") peer.Socket.Shutdown(SocketShutdown.Send);
                Assert.True(await peer.WaitClosedAsync(), $"{kind}: the daemon kept the connection");
            }
            errors++;
            var ep = await RawFrames.WaitForAsync(raw.Client, raw.Net.Name, "bad", e => e.Transport.ProtocolErrors >= errors);
            Assert.Equal(errors, ep.Transport.ProtocolErrors);
            Assert.False(string.IsNullOrEmpty(ep.Transport.LastError));

            // The listener takes the next connection, and frames flow on it.
            using (var again = await StreamPeer.ConnectAsync(raw.Path("bad.sock")))
                Assert.True(await raw.ArpAsync(again, bad), $"{kind}: bad endpoint after reconnecting");
            await RawFrames.WaitForAsync(raw.Client, raw.Net.Name, "bad", e => e.Transport.State == "listening");
            Assert.True(await raw.ArpAsync(goodPeer, good), $"{kind}: good endpoint");
        }
        // Orderly closes are not protocol errors.
        Assert.Equal(errors, (await raw.Client.GetEndpointAsync(raw.Net.Name, "bad")).Transport.ProtocolErrors);
        Assert.Equal(0, (await raw.Client.GetEndpointAsync(raw.Net.Name, "good")).Transport.ProtocolErrors);
    }

    [LinuxRootFact]
    public async Task A_dgram_peer_that_is_not_there_yet_goes_away_and_comes_back_is_served_each_time()
    {
        await using var raw = await Raw.StartAsync();
        string ours = raw.Path("pl.sock"), theirs = raw.Path("pl-peer.sock");
        var ep = await Vm.AttachAsync(raw.Daemon, raw.Net.Name, "pl", Vm.DgramListen(ours, theirs), RawFrames.RandomMac());
        var daemonEnd = new UnixDomainSocketEndPoint(ours);
        // Another endpoint floods broadcasts, so the daemon keeps sending toward the dgram peer.
        var other = await raw.StreamEndpointAsync("flood");
        using var flood = await StreamPeer.ConnectAsync(raw.Path("flood.sock"));
        async Task Flood() { for (int i = 0; i < 20; i++) await flood.SendFrameAsync(RawFrames.Broadcast(other.Mac, 200)); }

        async Task<bool> ArpFromPeer(Socket socket)
        {
            using var cts = new CancellationTokenSource(Bounds.Generous); // ends at the first reply
            var buffer = new byte[65536];
            try
            {
                for (int attempt = 0; attempt < 100; attempt++)
                {
                    socket.SendTo(RawFrames.ArpRequest(ep.Mac, ep.Ipv4, raw.Net.Gateway), daemonEnd);
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                    wait.CancelAfter(TimeSpan.FromMilliseconds(400)); // the daemon retries a missing peer every 250 ms
                    try
                    {
                        while (true)
                        {
                            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                            if (RawFrames.IsArpReplyFrom(buffer.AsSpan(0, n), raw.Net.Gateway)) return true;
                        }
                    }
                    catch (OperationCanceledException) when (!cts.IsCancellationRequested) { }
                }
            }
            catch (OperationCanceledException) { }
            return false;
        }

        await Flood(); // the peer is not there yet: these frames are dropped, nothing breaks
        using (var first = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
        {
            first.Bind(new UnixDomainSocketEndPoint(theirs));
            Assert.True(await ArpFromPeer(first), "no ARP reply once the peer appeared");
        }
        File.Delete(theirs); // the peer goes away
        await Flood();
        var away = await RawFrames.WaitForAsync(raw.Client, raw.Net.Name, "pl", e => e.Transport.State == "waiting-for-peer");
        Assert.True(away.Counters!.Drops["transmit-failed"] > 0);
        using (var second = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
        {
            second.Bind(new UnixDomainSocketEndPoint(theirs)); // and comes back
            Assert.True(await ArpFromPeer(second), "no ARP reply after the peer came back");
        }
        Assert.Equal("connected", (await raw.Client.GetEndpointAsync(raw.Net.Name, "pl")).Transport.State);
    }

    [LinuxRootFact]
    public async Task An_oversize_datagram_is_counted_and_dropped_and_later_datagrams_work()
    {
        await using var raw = await Raw.StartAsync();
        string ours = raw.Path("dg.sock"), theirs = raw.Path("dg-peer.sock");
        var ep = await Vm.AttachAsync(raw.Daemon, raw.Net.Name, "dg", Vm.DgramListen(ours), RawFrames.RandomMac());
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(theirs));
        var daemonEnd = new UnixDomainSocketEndPoint(ours);

        async Task<bool> Arp()
        {
            socket.SendTo(RawFrames.ArpRequest(ep.Mac, ep.Ipv4, raw.Net.Gateway), daemonEnd);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var buffer = new byte[65536];
            try
            {
                for (int i = 0; i < 1000; i++)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                    if (RawFrames.IsArpReplyFrom(buffer.AsSpan(0, n), raw.Net.Gateway)) return true;
                }
            }
            catch (OperationCanceledException) { }
            return false;
        }

        // Before the peer is known, and once it is: each oversize datagram is one protocol error, nothing else.
        for (int round = 1; round <= 2; round++)
        {
            var big = RawFrames.Broadcast(ep.Mac, raw.Net.Mtu + 19 + 1000 * round);
            socket.SendTo(big, daemonEnd);
            var after = await RawFrames.WaitForAsync(raw.Client, raw.Net.Name, "dg", e => e.Transport.ProtocolErrors >= round);
            Assert.Equal(round, after.Transport.ProtocolErrors);
            Assert.True(await Arp(), $"round {round}: no ARP reply after an oversize datagram");
        }
        var final = await raw.Client.GetEndpointAsync(raw.Net.Name, "dg");
        Assert.Equal("connected", final.Transport.State);
        Assert.Equal(0, final.Counters!.Drops.GetValueOrDefault("oversize")); // never reached the switch
    }

    [LinuxRootFact]
    public async Task A_peer_that_never_reads_costs_only_its_own_frames()
    {
        await using var raw = await Raw.StartAsync();
        var stall = await raw.StreamEndpointAsync("stall");
        var flood = await raw.StreamEndpointAsync("flood");
        var probe = await raw.StreamEndpointAsync("probe");
        using var stallPeer = await StreamPeer.ConnectAsync(raw.Path("stall.sock"));
        stallPeer.Socket.ReceiveBufferSize = 4096; // and never read
        using var floodPeer = await StreamPeer.ConnectAsync(raw.Path("flood.sock"));
        using var probePeer = await StreamPeer.ConnectAsync(raw.Path("probe.sock"));
        await RawFrames.WaitForAsync(raw.Client, raw.Net.Name, "stall", e => e.Transport.State == "connected");

        // The probe keeps reading throughout, and notes the gateway's ARP reply when it comes.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var probeReplied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long probeFrames = 0;
        var reader = Task.Run(async () =>
        {
            try
            {
                while (await probePeer.ReceiveFrameAsync(stop.Token) is { } f)
                {
                    Interlocked.Increment(ref probeFrames);
                    if (RawFrames.IsArpReplyFrom(f, raw.Net.Gateway)) probeReplied.TrySetResult();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        });

        // 4,000 broadcast frames of 1,400 bytes (5.6 MB, more than the 4 MiB a stalled peer may have queued).
        const int Count = 4_000;
        var frame = RawFrames.Broadcast(flood.Mac, 1400);
        var sw = Stopwatch.StartNew();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            for (int i = 0; i < Count; i++) await floodPeer.SendFrameAsync(frame, cts.Token);
        await RawFrames.WaitForAsync(raw.Client, raw.Net.Name, "flood", e => e.Counters!.FramesIn >= Count, TimeSpan.FromSeconds(30));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"the flood took {sw.Elapsed}");

        // Everyone else still talks to the gateway.
        Assert.True(await raw.ArpAsync(floodPeer, flood), "flood endpoint");
        await probePeer.SendFrameAsync(RawFrames.ArpRequest(probe.Mac, probe.Ipv4, raw.Net.Gateway));
        Assert.True(await Task.WhenAny(probeReplied.Task, Task.Delay(Bounds.Generous)) == probeReplied.Task, "probe endpoint");
        Assert.True(Interlocked.Read(ref probeFrames) > Count / 2, $"the probe saw {probeFrames} frames");

        var stalled = await raw.Client.GetEndpointAsync(raw.Net.Name, "stall");
        Assert.True(stalled.Counters!.Drops.GetValueOrDefault("transmit-failed") > 0,
            $"stalled endpoint drops: {string.Join(", ", stalled.Counters.Drops.Select(d => $"{d.Key}={d.Value}"))}");
        Assert.Equal("connected", stalled.Transport.State);
        var probed = await raw.Client.GetEndpointAsync(raw.Net.Name, "probe");
        Assert.True(probed.Counters!.Drops.GetValueOrDefault("transmit-failed") < stalled.Counters.Drops["transmit-failed"]);

        await stop.CancelAsync();
        probePeer.Dispose();
        await reader.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
