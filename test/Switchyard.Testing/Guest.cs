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

    /// <summary>Attaches a fresh namespace as eth0; <paramref name="customize"/> sets whatever else the request should say.</summary>
    public static async Task<Guest> AttachAsync(SwitchyardClient client, string network, string name, string? ip = null,
        Func<EndpointAttachRequest, EndpointAttachRequest>? customize = null)
    {
        var ns = TestNamespace.Create("sy-it");
        try
        {
            var request = new EndpointAttachRequest
            {
                Name = name,
                Ip = ip,
                Transport = new TransportSpec { Kind = "tap", Netns = ns.Name },
            };
            var ep = await client.AttachEndpointAsync(network, customize is null ? request : customize(request));
            return new Guest(client, network, name, ns, ep);
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Attaches this guest's namespace to another network too (the daemon names the NIC eth1, eth2, ...).</summary>
    public Task<EndpointInfo> AttachAlsoAsync(string network, string name, Func<EndpointAttachRequest, EndpointAttachRequest>? customize = null)
    {
        var request = new EndpointAttachRequest { Name = name, Transport = new TransportSpec { Kind = "tap", Netns = Namespace.Name } };
        return _client.AttachEndpointAsync(network, customize is null ? request : customize(request));
    }

    public async Task<EndpointInfo> RefreshAsync() => Endpoint = await _client.GetEndpointAsync(Network, Name);

    /// <summary>One `busybox udhcpc -q` run (5 tries, 1 s apart); returns the environment of its last bound/renew event.</summary>
    public IReadOnlyDictionary<string, string> Dhcp() => Dhcp("eth0");

    /// <summary>The same on eth0, sending <paramref name="hostname"/> as DHCP option 12.</summary>
    public IReadOnlyDictionary<string, string> DhcpAs(string hostname) => Udhcpc.Run(Namespace.Name, "eth0", _scratch, hostname);

    /// <summary>The same on another of the guest's NICs.</summary>
    public IReadOnlyDictionary<string, string> Dhcp(string ifname) => Udhcpc.Run(Namespace.Name, ifname, _scratch);

    public Command.Result Exec(string program, params string[] args) => Namespace.Exec(program, args);

    public Command.Result TryExec(int timeoutMs, string program, params string[] args) =>
        Command.Run("ip", ["netns", "exec", Namespace.Name, program, .. args], check: false, timeoutMs: timeoutMs);

    /// <summary>`ping` in the guest; true when every one of <paramref name="count"/> replies came back (<see cref="Testing.Ping"/>).</summary>
    public bool Ping(string target, int count = 2, string? from = null) =>
        TryExec(30_000, "ping", Testing.Ping.ExpectingReplies(target, count, from)).ExitCode == 0;

    /// <summary>`ping` in the guest; true when not one reply came back (what an anti-spoofing or isolation check expects).</summary>
    public bool PingGetsNoReply(string target, int count = 2, string? from = null) =>
        Testing.Ping.NoneReceived(TryExec(30_000, "ping", Testing.Ping.ExpectingNone(target, count, from)));

    /// <summary>`dig` in the guest with bounded retries; returns stdout.</summary>
    public string Dig(params string[] args) => TryExec(20_000, "dig", ["+time=2", "+tries=2", .. args]).StdOut.Trim();

    public void Dispose()
    {
        try { _client.DetachEndpointAsync(Network, Name).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is SwitchyardApiException or SwitchyardUnavailableException or HttpRequestException or ObjectDisposedException) { }
        Namespace.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }
}
