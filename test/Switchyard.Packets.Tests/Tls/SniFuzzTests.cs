using System.Text;
using Switchyard.Packets.Http;
using Switchyard.Packets.Tls;

namespace Switchyard.Packets.Tests.Tls;

/// <summary>Hostile first bytes must never throw, never yield a name outside the host-name alphabet, and an
/// answer other than NeedMore must be final: more bytes never change it.</summary>
public sealed class SniFuzzTests
{
    private const int Iterations = 20_000;

    private static async Task<List<byte[]>> TlsSeeds()
    {
        byte[] real = await TlsTestHellos.FromSslStream("allowed.example");
        byte[] handshake = TlsTestHellos.HandshakeOf(real);
        return
        [
            real,
            TlsTestHellos.Records(handshake, 3, 60),
            TlsTestHellos.HelloFor("a-b.allowed.example."),
            TlsTestHellos.Hello(TlsTestHellos.SupportedVersions),
            TlsTestHellos.Hello((0, TlsTestHellos.ServerNameList((3, [1, 2]), (0, "x.example"u8.ToArray())))),
        ];
    }

    private static List<byte[]> HttpSeeds() =>
    [
        .. new[]
        {
            "GET / HTTP/1.1\r\nHost: allowed.example:8080\r\nAccept: */*\r\n\r\n",
            "GET http://allowed.example/x HTTP/1.1\nHost: other.example\n\n",
            "CONNECT allowed.example:443 HTTP/1.1\r\nHost: allowed.example:443\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n",
            "GET / HTTP/1.0\r\nUser-Agent: x\r\n\r\n",
        }.Select(Encoding.ASCII.GetBytes),
    ];

    private static byte[] Mutate(Random rng, List<byte[]> seeds, int i)
    {
        byte[] input;
        switch (i % 5)
        {
            case 0:
                input = new byte[rng.Next(0, 700)];
                rng.NextBytes(input);
                if (input.Length > 0 && rng.Next(2) == 0) input[0] = 0x16; // get past the first-byte check
                if (input.Length > 1 && rng.Next(2) == 0) input[1] = 0x03;
                return input;
            case 1: // bit flips
                input = (byte[])seeds[rng.Next(seeds.Count)].Clone();
                for (int f = rng.Next(1, 6); f > 0; f--) input[rng.Next(input.Length)] ^= (byte)(1 << rng.Next(8));
                return input;
            case 2: // truncation
                byte[] s = seeds[rng.Next(seeds.Count)];
                return s[..rng.Next(s.Length)];
            case 3: // interesting bytes overwritten (lengths, separators)
                input = (byte[])seeds[rng.Next(seeds.Count)].Clone();
                byte[] interesting = [0x00, 0xFF, 0x01, 0x20, 0x0D, 0x0A, (byte)':', (byte)'.', (byte)'[', (byte)']', 0x7F, 0x80];
                for (int f = rng.Next(1, 4); f > 0; f--) input[rng.Next(input.Length)] = interesting[rng.Next(interesting.Length)];
                return input;
            default: // a slice deleted or duplicated
                input = seeds[rng.Next(seeds.Count)];
                int at = rng.Next(input.Length), length = rng.Next(1, 16);
                length = Math.Min(length, input.Length - at);
                return rng.Next(2) == 0
                    ? [.. input[..at], .. input[(at + length)..]]
                    : [.. input[..(at + length)], .. input[at..]];
        }
    }

    private static bool IsNameText(string name, bool allowIpv6) =>
        name.Length is > 0 and <= 253 && !name.EndsWith('.') &&
        name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' || (allowIpv6 && c == ':'));

    private delegate ServerNameResult Parser(ReadOnlySpan<byte> stream, out string? name);

    private static void Run(Parser parse, List<byte[]> seeds, bool allowIpv6, int seed)
    {
        var rng = new Random(seed);
        var seen = new HashSet<ServerNameResult>();
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = Mutate(rng, seeds, i);
            var full = parse(input, out string? name);
            seen.Add(full);
            Assert.Equal(full == ServerNameResult.Found, name is not null);
            if (name is not null) Assert.True(IsNameText(name, allowIpv6), $"bad name '{name}' from {Convert.ToHexString(input)}");

            // A decided prefix is final: the whole input gives the same answer and name.
            int cut = rng.Next(input.Length + 1);
            var early = parse(input.AsSpan(0, cut), out string? earlyName);
            if (early != ServerNameResult.NeedMore)
            {
                Assert.True(early == full, $"prefix {cut} said {early}, whole said {full}: {Convert.ToHexString(input)}");
                Assert.Equal(name, earlyName);
            }
        }
        // The mutations reach every outcome, so the properties above were exercised on each.
        Assert.Superset(new HashSet<ServerNameResult>(Enum.GetValues<ServerNameResult>()), seen);
        Assert.Equal(5, seen.Count);
    }

    [Fact]
    public async Task Tls_random_bytes_and_mutations()
    {
        Run(TlsClientHello.TryGetServerName, await TlsSeeds(), allowIpv6: false, seed: 20260107);
    }

    [Fact]
    public void Http_random_bytes_and_mutations()
    {
        Run(HttpRequestHead.TryGetHost, HttpSeeds(), allowIpv6: true, seed: 20260108);
    }

    /// <summary>Bytes allocated on this thread by <paramref name="parse"/> (after a warm-up run).</summary>
    private static long Allocated(Parser parse, byte[] input)
    {
        for (int i = 0; i < 100; i++) parse(input, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        parse(input, out _);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public async Task Parsing_allocates_only_the_returned_name()
    {
        byte[] hello = await TlsTestHellos.FromSslStream("allowed.example");
        byte[] split = TlsTestHellos.Records(TlsTestHellos.HandshakeOf(hello), 100);
        Assert.Equal(0, Allocated(TlsClientHello.TryGetServerName, hello[..^1])); // NeedMore
        Assert.Equal(0, Allocated(TlsClientHello.TryGetServerName, split[..^1]));
        Assert.Equal(0, Allocated(TlsClientHello.TryGetServerName, TlsTestHellos.Hello(TlsTestHellos.SupportedVersions))); // Absent
        long stringSize = Allocated(static (ReadOnlySpan<byte> _, out string? s) => { s = new string('x', 15); return default; }, []);
        Assert.Equal(stringSize, Allocated(TlsClientHello.TryGetServerName, hello));
        Assert.Equal(stringSize, Allocated(TlsClientHello.TryGetServerName, split));

        byte[] head = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: allowed.example:80\r\nAccept: */*\r\n\r\n");
        Assert.Equal(0, Allocated(HttpRequestHead.TryGetHost, head[..^1]));
        Assert.Equal(0, Allocated(HttpRequestHead.TryGetHost, "GET / HTTP/1.1\r\n\r\n"u8.ToArray()));
        Assert.Equal(stringSize, Allocated(HttpRequestHead.TryGetHost, head));
    }

    [Fact]
    public async Task Cross_feeding_never_throws()
    {
        // Each parser gets the other's seeds: the caller may try both.
        foreach (byte[] tls in await TlsSeeds())
            Assert.Equal(ServerNameResult.NotThisProtocol, HttpRequestHead.TryGetHost(tls, out _));
        foreach (byte[] http in HttpSeeds())
            Assert.Equal(ServerNameResult.NotThisProtocol, TlsClientHello.TryGetServerName(http, out _));
    }
}
