using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// An egress test's world: an <see cref="EgressWorld"/> (made first, so the network's subnet is picked clear of its
/// host route), a daemon, a `nat` network whose only DNS upstream is the world's resolver and whose egress policy is
/// `deny` plus <c>allow</c>, and one guest ("inside") with its DHCP lease (default route and resolv.conf = the gateway).
/// </summary>
internal sealed class EgressLan : IAsyncDisposable
{
    private readonly List<Guest> _more = [];

    public required EgressWorld World { get; init; }
    public required TestDaemon Daemon { get; init; }
    public required NetworkInfo Net { get; init; }
    public required Guest Guest { get; init; }
    public SwitchyardClient Client => Daemon.Client;
    public Runner Run => Guest.TryExec;

    /// <param name="allow">The policy's allow rules (its default is deny).</param>
    /// <param name="network">Further changes to the network's create request (mode nat, upstream and policy are set).</param>
    /// <param name="httpListen">The daemon also serves <c>--http-listen</c> on a free loopback port (the dashboard).</param>
    public static Task<EgressLan> StartAsync(IReadOnlyList<string> allow, bool ipv6 = false,
        Func<NetworkCreateRequest, NetworkCreateRequest>? network = null, bool httpListen = false) => StartAsync(_ => allow, ipv6, network, httpListen);

    /// <param name="allow">The allow rules, made from the world (its addresses and subnet exist by then: CIDR rules).</param>
    public static async Task<EgressLan> StartAsync(Func<EgressWorld, IReadOnlyList<string>> allow, bool ipv6 = false,
        Func<NetworkCreateRequest, NetworkCreateRequest>? network = null, bool httpListen = false)
    {
        var world = EgressWorld.Start(ipv6);
        TestDaemon? daemon = null;
        Guest? guest = null;
        try
        {
            daemon = await TestDaemon.StartAsync(httpListen: httpListen);
            var net = await daemon.CreateNetworkAsync([world.DnsUpstream], prefix: "egr", customize: r => (network ?? (x => x))(r with
            {
                Mode = "nat",
                Ipv6 = ipv6 ? "auto" : null,   // SLAAC and NAT66 toward the world's IPv6 addresses
                Egress = new EgressPolicySpec { Default = "deny", Allow = allow(world) },
            }));
            guest = await Guest.AttachAsync(daemon.Client, net.Name, "inside");
            guest.Dhcp();
            return new EgressLan { World = world, Daemon = daemon, Net = net, Guest = guest };
        }
        catch
        {
            guest?.Dispose();
            if (daemon is not null) await daemon.DisposeAsync();
            world.Dispose();
            throw;
        }
    }

    /// <summary>Another guest on the same network, with its own lease (disposed with the LAN).</summary>
    public async Task<Guest> AddGuestAsync(string name)
    {
        var guest = await Guest.AttachAsync(Client, Net.Name, name);
        _more.Add(guest);
        guest.Dhcp();
        return guest;
    }

    /// <summary>curl in the guest (or in <paramref name="guest"/>), trusting the world's CA.</summary>
    public EgressWorld.CurlResult Curl(string url, params string[] extra) => World.Curl(Run, url, extra);
    public EgressWorld.CurlResult Curl(Guest guest, string url, params string[] extra) => World.Curl(guest.TryExec, url, extra);

    /// <summary>`dig @GATEWAY NAME TYPE` in the guest: the whole output (status line included).</summary>
    public string Dig(string name, string type = "A") => Guest.Dig($"@{Net.Gateway}", name, type);

    /// <summary>The gateway's answer for <paramref name="name"/> (dig +short): what the guest now has pinned.</summary>
    public string Resolve(string name, string type = "A", Guest? guest = null) =>
        (guest ?? Guest).Dig($"@{Net.Gateway}", name, type, "+short");

    public async ValueTask DisposeAsync()
    {
        foreach (var g in _more) g.Dispose();
        Guest.Dispose();
        await Daemon.DisposeAsync();
        World.Dispose();
    }
}

/// <summary>
/// What the egress tests expect the daemon to log, in one place: the reasons it gives (the tests name them only through
/// these constants, several acceptable ones where the brief leaves room) and the wait for an event to show up in the
/// audit log. Set <see cref="CheckReasons"/> false to check verdicts only.
/// </summary>
internal static class EgressExpect
{
    public const bool CheckReasons = true;

    public const string Allow = "allow";
    public const string Deny = "deny";

    /// <summary>A flow allowed by name: at the flow's open, or at the check of its TLS SNI or HTTP Host.</summary>
    public static readonly string[] AllowedName = ["allowed-name", "allowed-sni", "allowed-host"];
    public static readonly string[] AllowedCidr = ["allowed-cidr"];
    /// <summary>A query for a name the policy does not allow (NXDOMAIN from the gateway).</summary>
    public static readonly string[] NameNotAllowed = ["name-not-allowed", "denied-name"];
    /// <summary>A flow to an address no allowed name resolved to for this guest and no CIDR rule covers.</summary>
    public static readonly string[] NotResolved = ["not-resolved", "denied-cidr"];
    public static readonly string[] SniMismatch = ["sni-mismatch"];
    public static readonly string[] HostMismatch = ["host-mismatch"];
    /// <summary>An absolute-form (or CONNECT) request target whose host is not the Host header's.</summary>
    public static readonly string[] AuthorityMismatch = ["authority-mismatch"];
    /// <summary>A request whose body cannot be framed safely (Transfer-Encoding with Content-Length, unknown codings...).</summary>
    public static readonly string[] BadFraming = ["bad-framing"];
    public static readonly string[] Quic = ["quic"];
    /// <summary>DNS to a resolver other than the gateway (at an address that may or may not be pinned).</summary>
    public static readonly string[] DnsBypass = ["dns-bypass", "not-resolved"];

    /// <summary>
    /// Waits (at most <paramref name="seconds"/>) for an event in <paramref name="network"/>'s audit log with this verdict
    /// and, when given, protocol, destination ("ip:port") and name; then checks its reason is one of <paramref name="reasons"/>.
    /// </summary>
    public static async Task<EgressEvent> LoggedAsync(SwitchyardClient client, string network, string verdict, string? protocol = null,
        string? destination = null, string? name = null, string[]? reasons = null, int seconds = 20)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        List<EgressEvent> log;
        while (true)
        {
            log = await client.GetEgressLogAsync(network, limit: 1000);
            var match = log.LastOrDefault(e => Matches(e, verdict, protocol, destination, name));
            if (match is not null)
            {
                if (CheckReasons && reasons is not null)
                    Assert.True(reasons.Contains(match.Reason), $"reason {match.Reason}, expected one of {string.Join('/', reasons)}: {Describe(match)}");
                return match;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) break;
            await Task.Delay(100);
        }
        Assert.Fail($"no {verdict} event {protocol} {destination} {name} in the log of {network}; it has:\n{string.Join('\n', log.Select(Describe))}");
        return null!;
    }

    /// <summary>True when <paramref name="e"/> is the decision the test looks for (null fields: any).</summary>
    public static bool Matches(EgressEvent e, string verdict, string? protocol = null, string? destination = null, string? name = null) =>
        e.Verdict == verdict
        && (protocol is null || e.Protocol == protocol)
        && (destination is null || e.Destination == destination)
        && (name is null || string.Equals(e.Name?.TrimEnd('.'), name, StringComparison.OrdinalIgnoreCase));

    public static string Describe(EgressEvent e) => $"{e.Time:HH:mm:ss.fff} {e.Endpoint} {e.Protocol} {e.Destination} {e.Name} {e.Verdict} {e.Reason}";

    /// <summary>Asserts a refusal the way the brief promises it: curl failed, quickly (a RST, an NXDOMAIN or an ICMP
    /// error, never a timeout), and nothing of <paramref name="forbiddenBody"/> came through. The bound counts starting
    /// curl in the namespace on a loaded machine; curl's own connect wait (10 s) is twice it, so a timeout cannot pass.</summary>
    public static void RefusedFast(EgressWorld.CurlResult r, string? forbiddenBody = null, double seconds = 5)
    {
        Assert.False(r.Ok, $"expected a refusal: {r}");
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(seconds), $"refused, but slowly (a timeout, not a RST?): {r}");
        if (forbiddenBody is not null) Assert.DoesNotContain(forbiddenBody.Trim(), r.Body);
    }

    /// <summary>Host:port the way events write it: [v6]:port for IPv6.</summary>
    public static string Destination(string address, int port) => address.Contains(':') ? $"[{address}]:{port}" : $"{address}:{port}";
}
