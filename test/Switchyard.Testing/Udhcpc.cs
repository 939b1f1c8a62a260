namespace Switchyard.Testing;

/// <summary>busybox udhcpc in a namespace with a script that records its environment and configures the link, the
/// default route and /etc/netns/NS/resolv.conf (so `ip netns exec NS` resolves names through the gateway).</summary>
public static class Udhcpc
{
    /// <summary>One `busybox udhcpc -q` run on <paramref name="ifname"/> (5 tries, 1 s apart); returns the environment
    /// of its last bound/renew event. <paramref name="scratch"/> is a directory the caller owns and deletes.</summary>
    /// <param name="hostName">Sent as option 12 (RFC 2132 section 3.14) when given: the gateway's DNS then knows the guest by it.</param>
    public static IReadOnlyDictionary<string, string> Run(string netns, string ifname, string scratch, string? hostName = null)
    {
        string script = Path.Combine(scratch, "udhcpc.script");
        string env = Path.Combine(scratch, "udhcpc.env");
        File.WriteAllText(script, Script);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(env);
        Command.Run("ip", ["netns", "exec", netns, "env", $"YARD_NETNS={netns}", $"YARD_ENV={env}",
            "busybox", "udhcpc", "-i", ifname, "-f", "-q", "-n", "-t", "15", "-T", "1", "-s", script,
            .. (hostName is null ? Array.Empty<string>() : ["-x", $"hostname:{hostName}"])], timeoutMs: 30_000);
        var result = new Dictionary<string, string>();
        foreach (var line in File.ReadAllLines(env))
        {
            int eq = line.IndexOf('=');
            if (eq > 0) result[line[..eq]] = line[(eq + 1)..];
        }
        return result;
    }

    /// <summary>src/Switchyard.Cli/Guest/udhcpc.script, the one the demo runs, embedded here too.</summary>
    private static string Script
    {
        get
        {
            using var stream = typeof(Udhcpc).Assembly.GetManifestResourceStream("udhcpc.script")!;
            return new StreamReader(stream).ReadToEnd();
        }
    }
}
