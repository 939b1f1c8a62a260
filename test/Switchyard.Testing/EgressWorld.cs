using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.Testing;

/// <summary>
/// The outside world of the egress tests: an <see cref="OutsideWorld"/> (its echo servers on every address) with more
/// addresses on the same veth (10.250.X.0/24, the host reaches them over its connected route):
/// <list type="bullet">
/// <item><see cref="AllowedAddress"/> (.2) = <see cref="AllowedName"/>, <see cref="BlockedAddress"/> (.3) = <see cref="BlockedName"/>
/// and <see cref="LookalikeName"/>, <see cref="WildAddress"/> (.4) = <see cref="WildName"/> and <see cref="DeepWildName"/> and
/// the apex <see cref="WildDomain"/>, <see cref="DnsAddress"/> (.5): the upstream resolver, <see cref="UnnamedAddress"/> (.6): no
/// name at all (for CIDR rules).</item>
/// <item>nginx on 80 and 443 (TLS) of every address, IPv4 and IPv6, one site per name chosen by Host / SNI, each answering
/// <see cref="Body"/>(name); requests naming nothing it knows get <see cref="DefaultBody"/> (HTTP) or a refused handshake
/// (TLS). So the blocked name's site IS reachable at the allowed address unless someone checks SNI and Host.
/// Certificates come from a throwaway CA made per world (<see cref="CaFile"/>, for `curl --cacert`).</item>
/// <item>dnsmasq on port 53 of <see cref="DnsAddress"/> and of <see cref="AllowedAddress"/> (so a guest that pinned the
/// allowed address can try DNS to it), authoritative for .example (unknown names NXDOMAIN, names without an
/// IPv6 address NODATA for AAAA), nothing else: it never forwards anywhere.</item>
/// <item>A UDP echo on port 443 of every address (what a QUIC attempt would reach) besides the outside's own echo servers.</item>
/// <item>With <c>ipv6: true</c>, a ULA /64 on the veth too (host ::1, the same .2-.6 pattern as ::2-::6) and AAAA records.</item>
/// </list>
/// Dispose stops the servers (by PID), deletes the scratch directory and the outside world.
/// </summary>
public sealed class EgressWorld : IDisposable
{
    public const string AllowedName = "allowed.example";
    public const string BlockedName = "blocked.example";
    public const string WildDomain = "wild.example";
    public const string WildName = "api.wild.example";
    public const string DeepWildName = "deep.api.wild.example";
    /// <summary>Ends in "wild.example" but is not under it: *.wild.example must not match it.</summary>
    public const string LookalikeName = "evilwild.example";
    /// <summary>A name nobody serves (NXDOMAIN from the upstream too).</summary>
    public const string UnknownName = "nothing.example";
    public const int HttpPort = 80;
    public const int HttpsPort = 443;
    public const int DnsPort = 53;
    /// <summary>UDP echo on the QUIC port.</summary>
    public const int QuicPort = 443;
    /// <summary>TCP and UDP echo (the outside world's).</summary>
    public const int EchoPort = OutsideWorld.EchoPort;

    private readonly List<IDisposable> _servers = [];
    private readonly string _scratch;
    private readonly string _id;
    private readonly string _prefix;
    private readonly string? _prefix6;
    private int _disposed;

    private EgressWorld(OutsideWorld outside, string scratch, string? prefix6)
    {
        Outside = outside;
        _scratch = scratch;
        _id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        _prefix = outside.Address[..outside.Address.LastIndexOf('.')];
        _prefix6 = prefix6;
        CaFile = Path.Combine(scratch, "ca.pem");
    }

    public OutsideWorld Outside { get; }
    public TestNamespace Namespace => Outside.Namespace;
    public string AllowedAddress => $"{_prefix}.2";
    public string BlockedAddress => $"{_prefix}.3";
    public string WildAddress => $"{_prefix}.4";
    public string DnsAddress => $"{_prefix}.5";
    public string UnnamedAddress => $"{_prefix}.6";
    /// <summary>The upstream resolver, as a network's DnsUpstreams entry (IP, port 53).</summary>
    public string DnsUpstream => DnsAddress;

    public bool HasIpv6 => _prefix6 is not null;
    public string AllowedAddress6 => Ipv6(2);
    public string BlockedAddress6 => Ipv6(3);
    public string WildAddress6 => Ipv6(4);
    public string DnsAddress6 => Ipv6(5);
    public string UnnamedAddress6 => Ipv6(6);
    /// <summary>The /64 on the veth (host end ::1), e.g. fd12:3456:789a:1::/64.</summary>
    public string Ipv6Subnet => $"{_prefix6 ?? throw new InvalidOperationException("started without ipv6")}::/64";

    /// <summary>The test CA's certificate (PEM): `curl --cacert` it.</summary>
    public string CaFile { get; }

    /// <summary>The exact body of http(s)://NAME/ for a name this world serves (unique per world).</summary>
    public string Body(string name) => $"site {name} {_id}\n";
    /// <summary>The body for a Host header naming no site (e.g. a bare IP).</summary>
    public string DefaultBody => $"default site {_id}\n";

    /// <summary>Every name the world serves, and its IPv4 address.</summary>
    public IReadOnlyDictionary<string, string> Names => new Dictionary<string, string>
    {
        [AllowedName] = AllowedAddress,
        [BlockedName] = BlockedAddress,
        [LookalikeName] = BlockedAddress,
        [WildDomain] = WildAddress,
        [WildName] = WildAddress,
        [DeepWildName] = WildAddress,
    };

    private IReadOnlyDictionary<string, string> Names6 => new Dictionary<string, string>
    {
        [AllowedName] = AllowedAddress6,
        [BlockedName] = BlockedAddress6,
        [LookalikeName] = BlockedAddress6,
        [WildDomain] = WildAddress6,
        [WildName] = WildAddress6,
        [DeepWildName] = WildAddress6,
    };

    public string Url(string name, bool tls = true, string path = "") => $"{(tls ? "https" : "http")}://{name}/{path}";

    /// <summary>What <see cref="Curl"/> saw: curl's exit code (0 ok, 6 no such name, 7 could not connect, 35 TLS
    /// handshake failed, 52 empty reply, 56 reset...), the body, its error line and how long it took.</summary>
    public sealed record CurlResult(int ExitCode, string Body, string Error, TimeSpan Elapsed)
    {
        public bool Ok => ExitCode == 0;
        public override string ToString() => $"curl exit {ExitCode} after {Elapsed.TotalMilliseconds:F0} ms: {Error} {Body}".Trim();
    }

    /// <summary>`curl -sS --cacert CA` (10 s to connect, 20 s in all: generous for a loaded machine, and far above
    /// what a refusal may take) wherever <paramref name="run"/> runs it;
    /// <paramref name="extra"/> go before the URL (--resolve, -H, -6...).</summary>
    public CurlResult Curl(Runner run, string url, params string[] extra)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = run(30_000, "curl", ["-sS", "--cacert", CaFile, "--connect-timeout", "10", "--max-time", "20", .. extra, url]);
        return new CurlResult(r.ExitCode, r.StdOut, r.StdErr.Trim(), clock.Elapsed);
    }

    public static EgressWorld Start(bool ipv6 = false)
    {
        var outside = OutsideWorld.Start(http: false);
        EgressWorld? world = null;
        try
        {
            // A random ULA /64 (RFC 4193 section 3.2: a random 40-bit global ID), so parallel worlds never share one.
            string? prefix6 = null;
            if (ipv6)
            {
                var r = RandomNumberGenerator.GetBytes(5);
                prefix6 = $"fd{r[0]:x2}:{r[1]:x2}{r[2]:x2}:{r[3]:x2}{r[4]:x2}:1";
            }
            world = new EgressWorld(outside, Directory.CreateTempSubdirectory("sy-egress-").FullName, prefix6);
            world.AddAddresses();
            world.MakeCertificates();
            world.StartServers();
            return world;
        }
        catch
        {
            if (world is not null) world.Dispose();
            else outside.Dispose();
            throw;
        }
    }

    /// <summary>In canonical text (RFC 5952: no leading zeros), as dig, curl and the daemon print it.</summary>
    private string Ipv6(int host) => System.Net.IPAddress.Parse($"{_prefix6 ?? throw new InvalidOperationException("started without ipv6")}::{host}").ToString();

    private void AddAddresses()
    {
        string nsIf = Outside.Primary.NamespaceInterface;
        foreach (var a in new[] { BlockedAddress, WildAddress, DnsAddress, UnnamedAddress })
            Namespace.Ip("addr", "add", $"{a}/24", "dev", nsIf);
        if (!HasIpv6) return;
        // nodad: usable at once (no duplicate address detection wait); the host end gets ::1.
        Command.Run("ip", ["addr", "add", $"{_prefix6}::1/64", "dev", Outside.Primary.HostInterface, "nodad"]);
        foreach (int host in new[] { 2, 3, 4, 5, 6 })
            Namespace.Ip("addr", "add", $"{Ipv6(host)}/64", "dev", nsIf, "nodad");
    }

    /// <summary>A CA and one certificate per site (ECDSA P-256, SHA-256, SAN = the site's names), as PEM files in the
    /// scratch directory: NAME.pem and NAME.key.</summary>
    private void MakeCertificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=Switchyard egress test CA {_id}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        File.WriteAllText(CaFile, ca.ExportCertificatePem());

        foreach (var (site, names) in Sites())
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")], false));
            var san = new SubjectAlternativeNameBuilder();
            foreach (var n in names) san.AddDnsName(n);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            using var cert = request.Create(ca, now.AddDays(-1), now.AddDays(29), RandomNumberGenerator.GetBytes(16));
            File.WriteAllText(Path.Combine(_scratch, $"{site}.pem"), cert.ExportCertificatePem());
            File.WriteAllText(Path.Combine(_scratch, $"{site}.key"), key.ExportPkcs8PrivateKeyPem());
        }
    }

    /// <summary>nginx sites: a file-name-safe site id and its server names (the first is the certificate's CN).</summary>
    private static IEnumerable<(string Site, string[] Names)> Sites() =>
    [
        ("allowed", [AllowedName]),
        ("blocked", [BlockedName]),
        ("lookalike", [LookalikeName]),
        ("wild", [WildDomain, $"*.{WildDomain}", $"*.{WildName}"]),
    ];

    private void StartServers()
    {
        const string Listen = """
                    listen 80; listen [::]:80; listen 443 ssl; listen [::]:443 ssl;
            """;
        var config = new System.Text.StringBuilder();
        // The default site: a Host it does not know gets DefaultBody, a TLS hello without a known SNI a refused
        // handshake (an alert), so only a name's own site ever completes a handshake.
        config.Append($$"""
                server {
                    listen 80 default_server; listen [::]:80 default_server;
                    listen 443 ssl default_server; listen [::]:443 ssl default_server;
                    ssl_reject_handshake on;
                    location / { return 200 "{{DefaultBody.TrimEnd('\n')}}\n"; }
                }

            """);
        foreach (var (site, names) in Sites())
        {
            // $host is the name the request used: each wildcard name answers with its own body.
            config.Append($$"""
                    server {
                {{Listen}}
                        server_name {{string.Join(' ', names)}};
                        ssl_certificate {{_scratch}}/{{site}}.pem;
                        ssl_certificate_key {{_scratch}}/{{site}}.key;
                        location / { return 200 "site $host {{_id}}\n"; }
                    }

                """);
        }
        _servers.Add(NginxServer.StartWithServers(Namespace, config.ToString(), [HttpPort, HttpsPort]));

        var dnsArgs = new List<string>
        {
            "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--user=root",
            $"--port={DnsPort}", $"--listen-address={DnsAddress}", $"--listen-address={AllowedAddress}", "--bind-interfaces",
            // Authoritative for .example: names it has no record for are NXDOMAIN, and a name with an IPv4 address
            // only gets NODATA (not REFUSED) for AAAA, so a resolver asking both (glibc, curl) is content.
            "--local=/example/", "--local-ttl=60", "--log-queries", "--log-facility=-",
        };
        if (HasIpv6) dnsArgs.Insert(dnsArgs.IndexOf("--bind-interfaces"), $"--listen-address={DnsAddress6}");
        foreach (var (name, address) in Names)
            dnsArgs.Add(HasIpv6 ? $"--host-record={name},{address},{Names6[name]}" : $"--host-record={name},{address}");
        var dns = Namespace.StartServer(dnsArgs[0], [.. dnsArgs.Skip(1)]);
        _servers.Add(dns);
        // The QUIC port: a UDP echo, so an allowed datagram to 443 would come back.
        // One socket per address, so each reply leaves from the address its datagram was sent to.
        var quicAddresses = HasIpv6
            ? new[] { AllowedAddress, BlockedAddress, WildAddress, UnnamedAddress, AllowedAddress6, BlockedAddress6, WildAddress6, UnnamedAddress6 }
            : [AllowedAddress, BlockedAddress, WildAddress, UnnamedAddress];
        var quic = Namespace.StartServer("python3", ["-c", UdpEchoScript, QuicPort.ToString(), .. quicAddresses]);
        _servers.Add(quic);
        Namespace.WaitForListening([], [DnsPort, QuicPort], TimeSpan.FromSeconds(15), dns, quic);
        for (int i = 0; ; i++)
        {
            var r = Command.Run("dig", [$"@{DnsAddress}", AllowedName, "+short", "+time=1", "+tries=1"], check: false);
            if (r.StdOut.Trim() == AllowedAddress) break;
            dns.ThrowIfExited();
            if (i >= 50) throw new TimeoutException($"dnsmasq in {Namespace.Name} does not answer {AllowedName}: {r.StdOut} {r.StdErr} {dns.Output}");
            Thread.Sleep(100);
        }
    }

    private const string UdpEchoScript = """
        import select, socket, sys
        socks = []
        for a in sys.argv[2:]:
            s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((a, int(sys.argv[1])))
            socks.append(s)
        while True:
            for s in select.select(socks, [], [])[0]:
                data, peer = s.recvfrom(65535)
                s.sendto(data, peer)
        """;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        for (int i = _servers.Count - 1; i >= 0; i--) _servers[i].Dispose();
        if (HasIpv6) Command.Run("ip", ["addr", "del", $"{_prefix6}::1/64", "dev", Outside.Primary.HostInterface], check: false);
        Outside.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }
}
