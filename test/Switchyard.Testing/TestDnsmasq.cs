using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Testing;

/// <summary>
/// A throwaway upstream resolver: `dnsmasq --no-daemon` on 127.0.0.1 and a free port, answering
/// outside.test = 198.51.100.7 and nothing else (no resolv.conf, no hosts, no config file). Killed by PID on Dispose.
/// </summary>
public sealed class TestDnsmasq : IDisposable
{
    public const string Name = "outside.test";
    public const string Address = "198.51.100.7";
    private Process? _process;

    private TestDnsmasq(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";

    public static TestDnsmasq Start()
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            int port = FreeLoopbackPort();
            var process = Command.Start("dnsmasq", [
                "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--user=root",
                $"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                $"--address=/{Name}/{Address}", "--local-ttl=60", "--log-facility=-",
            ]);
            var dnsmasq = new TestDnsmasq(process, port);
            process.StandardOutput.ReadToEndAsync();
            process.StandardError.ReadToEndAsync();
            for (int i = 0; i < 50 && !process.HasExited; i++)
            {
                var r = Command.Run("dig", ["@127.0.0.1", "-p", port.ToString(), Name, "+short", "+time=1", "+tries=1"], check: false);
                if (r.StdOut.Trim() == Address) return dnsmasq;
                Thread.Sleep(100);
            }
            dnsmasq.Dispose();
        }
        throw new InvalidOperationException("dnsmasq did not start answering on a loopback port");
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
