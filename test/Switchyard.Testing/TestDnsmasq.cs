using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Testing;

/// <summary>
/// A throwaway upstream resolver: `dnsmasq --no-daemon` answering outside.test = 198.51.100.7 (or
/// the address a test chooses) and nothing else (no resolv.conf, no hosts, no config file). By
/// default on 127.0.0.1 and a free port; <see cref="StartOnPort53"/> puts it on port 53 of a
/// random 127.x.y.z of its own, since a resolv.conf nameserver line cannot name a port. Killed by
/// PID on Dispose.
/// </summary>
public sealed class TestDnsmasq : IDisposable
{
    public const string Name = "outside.test";
    public const string Address = "198.51.100.7";
    private Process? _process;

    private TestDnsmasq(Process process, string listenAddress, int port, string answer)
    {
        _process = process;
        ListenAddress = listenAddress;
        Port = port;
        Answer = answer;
    }

    public string ListenAddress { get; }
    public int Port { get; }
    /// <summary>What this dnsmasq answers for <see cref="Name"/>.</summary>
    public string Answer { get; }
    public string Endpoint => $"{ListenAddress}:{Port}";

    public static TestDnsmasq Start(string answer = Address)
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            if (TryStart("127.0.0.1", FreeLoopbackPort(), answer) is { } dnsmasq) return dnsmasq;
        }
        throw new InvalidOperationException("dnsmasq did not start answering on a loopback port");
    }

    /// <summary>dnsmasq on port 53 of a random 127.x.y.z (never 127.0.x.x, where the host's own
    /// stub resolvers live) that nothing else listens on, answering <see cref="Name"/> = <paramref name="answer"/>.</summary>
    public static TestDnsmasq StartOnPort53(string answer)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            string address = $"127.{Random.Shared.Next(100, 255)}.{Random.Shared.Next(0, 256)}.{Random.Shared.Next(1, 255)}";
            if (!IsFree(IPAddress.Parse(address), 53)) continue;
            if (TryStart(address, 53, answer) is { } dnsmasq) return dnsmasq;
        }
        throw new InvalidOperationException("dnsmasq did not start answering on port 53 of a loopback address (does something listen on *:53?)");
    }

    private static TestDnsmasq? TryStart(string address, int port, string answer)
    {
        var process = Command.Start("dnsmasq", [
            "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--user=root",
            $"--port={port}", $"--listen-address={address}", "--bind-interfaces",
            $"--address=/{Name}/{answer}", "--local-ttl=60", "--log-facility=-",
        ]);
        var dnsmasq = new TestDnsmasq(process, address, port, answer);
        process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEndAsync();
        for (int i = 0; i < 50 && !process.HasExited; i++)
        {
            var r = Command.Run("dig", [$"@{address}", "-p", port.ToString(), Name, "+short", "+time=1", "+tries=1"], check: false);
            if (r.StdOut.Trim() == answer) return dnsmasq;
            Thread.Sleep(100);
        }
        dnsmasq.Dispose();
        return null;
    }

    /// <summary>True when neither UDP nor TCP <paramref name="port"/> on <paramref name="address"/> is taken
    /// (a listener on the wildcard address takes it too).</summary>
    private static bool IsFree(IPAddress address, int port)
    {
        foreach (var (type, proto) in new[] { (SocketType.Dgram, ProtocolType.Udp), (SocketType.Stream, ProtocolType.Tcp) })
        {
            using var s = new Socket(AddressFamily.InterNetwork, type, proto);
            try { s.Bind(new IPEndPoint(address, port)); }
            catch (SocketException) { return false; }
        }
        return true;
    }

    public static int FreeLoopbackPort()
    {
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)udp.LocalEndPoint!).Port;
    }

    /// <summary>Kills dnsmasq (by the PID this helper started) and waits for it to exit.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _process, null) is not { } p) return;
        try
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException) { }
        p.Dispose();
    }

    public void Dispose() => Stop();
}
