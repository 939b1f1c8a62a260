using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// UDP and ping from a namespace guest on a nat network, through the daemon's host sockets, to an
/// "outside" namespace the host reaches through a veth pair on a free 10.251.X.0/24 (host end .1,
/// outside .2), running a python3 UDP echo server; and UDP to the host's loopback at the gateway
/// address. The host's ping_group_range is left as it is: as root, pings go through a raw socket
/// when unprivileged ICMP sockets are refused.
/// </summary>
public sealed class NatDatagramTests
{
    private const int EchoPort = 7;
    private const int ClosedPort = 8;

    [LinuxRootFact]
    public async Task Guest_pings_an_outside_address()
    {
        await using var world = await NatWorld.StartAsync();
        // A deadline that ends once every reply is in, not a per-reply wait: see Testing.Ping.
        var r = world.Guest.TryExec(30_000, "ping", Ping.ExpectingReplies(world.OutsideAddress, 3));
        Assert.True(r.ExitCode == 0, $"ping failed: {r.StdOut}{r.StdErr}");
        Assert.Contains("3 received", r.StdOut);
        Assert.Contains($"from {world.OutsideAddress}", r.StdOut);

        // Bigger than the MTU: the guest fragments the request, the NAT sends it whole and fragments the reply.
        r = world.Guest.TryExec(30_000, "ping", Ping.ExpectingReplies(world.OutsideAddress, 2, extra: ["-s", "3000"]));
        Assert.True(r.ExitCode == 0, $"ping -s 3000 failed: {r.StdOut}{r.StdErr}");
        Assert.Contains("3008 bytes from", r.StdOut);
    }

    [LinuxRootFact]
    public async Task Guest_udp_echo_big_reply_and_refused_port_on_an_outside_address()
    {
        await using var world = await NatWorld.StartAsync();

        Assert.Equal("echo:switchyard", world.GuestUdp(world.OutsideAddress, EchoPort, "switchyard"));
        // A reply bigger than the MTU reaches the guest in fragments its kernel puts together.
        Assert.Equal("len:4000", world.GuestUdp(world.OutsideAddress, EchoPort, "big:4000"));
        // A datagram bigger than the MTU leaves the guest in fragments and the host socket whole.
        string large = new('u', 3000);
        Assert.Equal("echo:" + large, world.GuestUdp(world.OutsideAddress, EchoPort, large));

        var sw = Stopwatch.StartNew();
        string refused = world.GuestUdp(world.OutsideAddress, ClosedPort, "anyone?");
        sw.Stop();
        Assert.Equal("refused", refused);
        // Well under the client's 10 s wait: the ICMP error came back, nothing timed out (the bound allows for
        // starting python in the namespace on a loaded machine).
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the refusal took {sw.Elapsed}");
    }

    [LinuxRootFact]
    public async Task A_udp_flow_whose_host_path_vanished_is_closed_and_the_next_datagram_opens_a_new_one()
    {
        await using var world = await NatWorld.StartAsync();
        Assert.Equal("echo:before", world.GuestUdp(world.OutsideAddress, EchoPort, "before"));
        Assert.Equal(1, await world.UdpFlowsAsync());

        world.SetHostLinkUp(false);   // the host's route to the outside goes with it
        var deadline = DateTime.UtcNow + Bounds.Generous;
        while (await world.UdpFlowsAsync() > 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Equal(0, await world.UdpFlowsAsync());

        world.SetHostLinkUp(true);
        Assert.Equal("echo:after", world.GuestUdp(world.OutsideAddress, EchoPort, "after"));
    }

    [LinuxRootFact]
    public async Task Guest_reaches_a_udp_server_on_the_hosts_loopback_at_the_gateway_address()
    {
        await using var world = await NatWorld.StartAsync();
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        var serve = Task.Run(async () =>
        {
            var buffer = new byte[2048];
            var got = await server.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0)).WaitAsync(TimeSpan.FromSeconds(15));
            await server.SendToAsync(buffer.AsMemory(0, got.ReceivedBytes), got.RemoteEndPoint);
            return (IPEndPoint)got.RemoteEndPoint;
        });

        Assert.Equal("echo:loopback", world.GuestUdp(world.Net.Gateway, port, "loopback"));
        var from = await serve;
        Assert.True(IPAddress.IsLoopback(from.Address), $"the server saw {from}");
    }

    /// <summary>A daemon with a nat network, one DHCP-configured guest, and the outside namespace.</summary>
    private sealed class NatWorld : IAsyncDisposable
    {
        // stdout "ready" once bound; "big:N" answers N bytes, anything else is echoed.
        private const string EchoServer = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", int(sys.argv[1])))
            print("ready", flush=True)
            while True:
                d, a = s.recvfrom(65535)
                s.sendto(bytes(i % 251 for i in range(int(d[4:]))) if d.startswith(b"big:") else d, a)
            """;

        // One datagram to HOST:PORT; prints "echo:REPLY", "len:N" for a big reply, "refused" or "timeout".
        private const string Client = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(10)  # a real round trip through the NAT; generous for a loaded machine
            s.connect((sys.argv[1], int(sys.argv[2])))
            s.send(sys.argv[3].encode())
            try:
                d = s.recv(65535)
                print("len:%d" % len(d) if sys.argv[3].startswith("big:") else "echo:" + d.decode())
            except ConnectionRefusedError:
                print("refused")
            except socket.timeout:
                print("timeout")
            """;

        private string? _hostInterface;
        private TestNamespace? _outside;
        private Process? _echo;
        private TestDaemon? _daemon;

        public required Guest Guest { get; init; }
        public required NetworkInfo Net { get; init; }
        public required string OutsideAddress { get; init; }

        public static async Task<NatWorld> StartAsync()
        {
            string? hostIf = null;
            TestNamespace? outside = null;
            Process? echo = null;
            TestDaemon? daemon = null;
            Guest? guest = null;
            try
            {
                // The outside first: its route then keeps the daemon's random subnet off 10.251.X.0/24.
                outside = TestNamespace.Create("sy-out");
                int octet = FreeOctet();
                hostIf = $"syd{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
                Command.Run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", outside.Name]);
                Command.Run("ip", ["addr", "add", $"10.251.{octet}.1/24", "dev", hostIf]);
                Command.Run("ip", ["link", "set", hostIf, "up"]);
                outside.Ip("addr", "add", $"10.251.{octet}.2/24", "dev", "eth0");
                outside.Ip("link", "set", "eth0", "up");
                outside.Ip("link", "set", "lo", "up");
                echo = outside.StartExec("/usr/bin/python3", "-c", EchoServer, EchoPort.ToString());
                var ready = echo.StandardOutput.ReadLineAsync();
                if (await Task.WhenAny(ready, Task.Delay(Bounds.Generous)) != ready || await ready != "ready")
                    throw new InvalidOperationException($"the echo server did not start: {echo.StandardError.ReadToEnd()}");

                daemon = await TestDaemon.StartAsync();
                var net = await daemon.CreateNetworkAsync(["none"]);
                Assert.Equal("nat", net.Mode);
                guest = await Guest.AttachAsync(daemon.Client, net.Name, "alpha");
                guest.Dhcp();
                return new NatWorld { Guest = guest, Net = net, OutsideAddress = $"10.251.{octet}.2", _hostInterface = hostIf, _outside = outside, _echo = echo, _daemon = daemon };
            }
            catch
            {
                guest?.Dispose();
                if (daemon is not null) await daemon.DisposeAsync();
                Stop(echo);
                if (hostIf is not null) Command.Run("ip", ["link", "del", hostIf], check: false);
                outside?.Dispose();
                throw;
            }
        }

        public async Task<int> UdpFlowsAsync() => (await _daemon!.Client.GetNetworkAsync(Net.Name)).Nat?.UdpFlows ?? -1;

        /// <summary>Sets the host end of the veth up or down (its connected route comes and goes with it).</summary>
        public void SetHostLinkUp(bool up) => Command.Run("ip", ["link", "set", _hostInterface!, up ? "up" : "down"]);

        /// <summary>Runs the python3 client in the guest; returns its one line.</summary>
        public string GuestUdp(string host, int port, string message)
        {
            var r = Guest.TryExec(15_000, "/usr/bin/python3", "-c", Client, host, port.ToString(), message);
            Assert.True(r.ExitCode == 0, $"client failed: {r.StdErr}");
            return r.StdOut.Trim();
        }

        /// <summary>A third octet X such that no route or address on the host mentions 10.251.X.</summary>
        private static int FreeOctet()
        {
            string host = Command.Run("ip", ["-4", "route", "show", "table", "all"]).StdOut + Command.Run("ip", ["-4", "-o", "addr", "show"]).StdOut;
            int start = Random.Shared.Next(256);
            for (int i = 0; i < 256; i++)
            {
                int x = (start + i) % 256;
                if (!host.Contains($"10.251.{x}.", StringComparison.Ordinal)) return x;
            }
            throw new InvalidOperationException("no free /24 in 10.251.0.0/16");
        }

        private static void Stop(Process? process)
        {
            if (process is null) return;
            try { if (!process.HasExited) process.Kill(); process.WaitForExit(5000); }
            catch (InvalidOperationException) { }
            process.Dispose();
        }

        public async ValueTask DisposeAsync()
        {
            Guest.Dispose();
            if (_daemon is not null) await _daemon.DisposeAsync();
            Stop(_echo);
            if (_hostInterface is not null) Command.Run("ip", ["link", "del", _hostInterface], check: false);
            _outside?.Dispose();
        }
    }
}
