using System.Net.Sockets;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>A [LinuxRootFact] that also needs the NativeAOT build of yard (YARD_NATIVE, which
/// ./test.sh builds with packaging/build-native.sh). Under CI=true a missing build fails.</summary>
public sealed class NativeDaemonFactAttribute : FactAttribute
{
    public NativeDaemonFactAttribute()
    {
        var root = new LinuxRootFactAttribute();
        if (root.Skip is not null) Skip = root.Skip;
        else if (Environment.GetEnvironmentVariable("YARD_NATIVE") is null && !LinuxRootFactAttribute.IsCi)
            Skip = "Requires YARD_NATIVE (the NativeAOT yard; ./test.sh sets it).";
    }
}

/// <summary>The daemon as shipped (NativeAOT): its API, a guest's lease, DNS, and the NAT to the
/// host's loopback, so trimming or AOT cannot silently break what the JIT build's tests cover.</summary>
public sealed class NativeDaemonTests
{
    [NativeDaemonFact]
    public async Task The_native_daemon_serves_the_api_leases_and_nat()
    {
        var bin = Environment.GetEnvironmentVariable("YARD_NATIVE");
        Assert.False(string.IsNullOrEmpty(bin), "YARD_NATIVE is not set: ./test.sh builds it with packaging/build-native.sh");
        Assert.True(File.Exists(bin), $"{bin} does not exist");
        var dir = Directory.CreateTempSubdirectory("yard-native-");
        string socket = Path.Combine(dir.FullName, "yard.sock");
        // JSON logs: the formatter must survive trimming too (and the output is read, so a full pipe never blocks the daemon).
        using var daemon = Command.Start(bin, ["daemon", "--state-dir", Path.Combine(dir.FullName, "state"), "--socket", socket, "--log-format", "json"]);
        var stdout = daemon.StandardOutput.ReadToEndAsync();
        _ = daemon.StandardError.ReadToEndAsync();
        try
        {
            Assert.True(SpinWait.SpinUntil(() => File.Exists(socket) || daemon.HasExited, TimeSpan.FromSeconds(15)), "the native daemon did not create its socket");
            Assert.False(daemon.HasExited, "the native daemon exited");
            using var client = new SwitchyardClient(socket);
            string name = $"native{Random.Shared.Next(1000, 9999)}";
            var net = await client.CreateNetworkAsync(new NetworkCreateRequest { Name = name, Mode = "nat", DnsUpstreams = ["none"],
                Subnet = $"10.{Random.Shared.Next(160, 170)}.{Random.Shared.Next(0, 250)}.0/24" });
            using var guest = await Guest.AttachAsync(client, net.Name, "inside");
            guest.Dhcp();
            Assert.Equal(net.Gateway, guest.Dig($"@{net.Gateway}", $"host.{net.Domain}", "+short"));
            using var server = LoopbackHttpServer.Start();
            var r = OutsideProbes.Http(guest.TryExec, $"http://{net.Gateway}:{server.Port}/");
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal(server.Body, r.StdOut);
            var info = await client.GetNetworkAsync(net.Name);
            Assert.NotNull(info.Nat);
        }
        finally
        {
            if (!daemon.HasExited) { daemon.Kill(); daemon.WaitForExit(5000); }
            try { dir.Delete(recursive: true); } catch (IOException) { }
        }
        // Whole lines only: SIGKILL may have cut the last one short.
        string output = await stdout;
        var lines = output[..(output.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            Assert.EndsWith("Z", doc.RootElement.GetProperty("Timestamp").GetString());
        }
    }
}
