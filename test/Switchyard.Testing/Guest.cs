using Switchyard.Client;

namespace Switchyard.Testing;

/// <summary>
/// A guest: a fresh <see cref="TestNamespace"/> attached to a network as eth0 (a TAP the daemon creates). <see cref="Dhcp"/>
/// runs busybox udhcpc once with a script that records its environment and configures the link, the default route and
/// /etc/netns/NS/resolv.conf. Dispose detaches the endpoint (best effort) and deletes the namespace.
/// </summary>
public sealed class Guest : IDisposable
{
    private readonly SwitchyardClient _client;
    private readonly string _scratch;

    private Guest(SwitchyardClient client, string network, string name, TestNamespace ns, EndpointInfo endpoint)
    {
        _client = client;
        Network = network;
        Name = name;
        Namespace = ns;
        Endpoint = endpoint;
        _scratch = Directory.CreateTempSubdirectory("sy-guest-").FullName;
    }

    public string Network { get; }
    public string Name { get; }
    public TestNamespace Namespace { get; }
    public EndpointInfo Endpoint { get; private set; }

    public static async Task<Guest> AttachAsync(SwitchyardClient client, string network, string name, string? ip = null)
    {
        var ns = TestNamespace.Create("sy-it");
        try
        {
            var ep = await client.AttachEndpointAsync(network, new EndpointAttachRequest
            {
                Name = name,
                Ip = ip,
                Transport = new TransportSpec { Kind = "tap", Netns = ns.Name },
            });
            return new Guest(client, network, name, ns, ep);
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    public async Task<EndpointInfo> RefreshAsync() => Endpoint = await _client.GetEndpointAsync(Network, Name);

    /// <summary>One `busybox udhcpc -q` run (5 tries, 1 s apart); returns the environment of its last bound/renew event.</summary>
    public IReadOnlyDictionary<string, string> Dhcp()
    {
        string script = Path.Combine(_scratch, "udhcpc.script");
        string env = Path.Combine(_scratch, "udhcpc.env");
        File.WriteAllText(script, UdhcpcScript);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(env);
        Command.Run("ip", ["netns", "exec", Namespace.Name, "env", $"YARD_NETNS={Namespace.Name}", $"YARD_ENV={env}",
            "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", script], timeoutMs: 30_000);
        var result = new Dictionary<string, string>();
        foreach (var line in File.ReadAllLines(env))
        {
            int eq = line.IndexOf('=');
            if (eq > 0) result[line[..eq]] = line[(eq + 1)..];
        }
        return result;
    }

    public Command.Result Exec(string program, params string[] args) => Namespace.Exec(program, args);

    public Command.Result TryExec(int timeoutMs, string program, params string[] args) =>
        Command.Run("ip", ["netns", "exec", Namespace.Name, program, .. args], check: false, timeoutMs: timeoutMs);

    /// <summary>`ping -c N -W 2 target` in the guest; true when it exits 0.</summary>
    public bool Ping(string target, int count = 2, string? from = null)
    {
        string[] args = from is null ? ["-c", count.ToString(), "-W", "2", "-i", "0.2", target] : ["-c", count.ToString(), "-W", "2", "-i", "0.2", "-I", from, target];
        return TryExec(20_000, "ping", args).ExitCode == 0;
    }

    /// <summary>`dig` in the guest with bounded retries; returns stdout.</summary>
    public string Dig(params string[] args) => TryExec(20_000, "dig", ["+time=2", "+tries=2", .. args]).StdOut.Trim();

    public void Dispose()
    {
        try { _client.DetachEndpointAsync(Network, Name).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is SwitchyardApiException or SwitchyardUnavailableException or HttpRequestException or ObjectDisposedException) { }
        Namespace.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }

    private const string UdhcpcScript = """
        #!/bin/sh
        case "$1" in
          deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
          bound|renew)
            env | grep -E '^(interface|ip|subnet|router|dns|domain|search|mtu|serverid|lease|broadcast)=' > "$YARD_ENV"
            echo "event=$1" >> "$YARD_ENV"
            ip -4 addr flush dev "$interface"
            ip addr add "$ip/$subnet" dev "$interface"
            [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
            [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
            mkdir -p "/etc/netns/$YARD_NETNS"
            { for s in $dns; do echo "nameserver $s"; done; echo "search ${search:-$domain}"; } > "/etc/netns/$YARD_NETNS/resolv.conf"
            ;;
        esac
        exit 0
        """;
}
