using System.Security.Cryptography;
using System.Text;

namespace Switchyard.Packets.Tests.Core;

/// <summary>The managed SHA-256 gives the framework's digest byte for byte: the names derived from it
/// (gateway MACs, ULA prefixes) must not change when the daemon stopped loading OpenSSL for them.</summary>
public sealed class StableHashTests
{
    [Theory]
    // FIPS 180-4 examples (the NIST "SHA256.pdf" worked examples): one block, and two blocks.
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public void Known_digests(string text, string hex) =>
        Assert.Equal(hex, Convert.ToHexStringLower(StableHash.Sha256(Encoding.ASCII.GetBytes(text))));

    [Fact]
    public void Every_length_around_the_block_and_padding_edges_matches_the_framework()
    {
        var random = new Random(15);
        for (int length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(SHA256.HashData(data), StableHash.Sha256(data));
        }
        var big = new byte[100_003];
        random.NextBytes(big);
        Assert.Equal(SHA256.HashData(big), StableHash.Sha256(big));
    }

    [Fact]
    public void Writes_into_a_span_and_refuses_a_short_one()
    {
        var into = new byte[40];
        StableHash.Sha256("switchyard"u8, into);
        Assert.Equal(SHA256.HashData("switchyard"u8), into[..32]);
        Assert.Throws<ArgumentException>(() => StableHash.Sha256("x"u8, new byte[31]));
    }

    [Fact]
    public void A_network_keeps_its_ula_prefix() =>
        Assert.Equal(Ipv6Prefix.StableUla("default").ToString(),
            new Ipv6Prefix(Ipv6Address.Parse($"fd{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("switchyard-ula:default")).AsSpan(0, 5)).Insert(2, ":").Insert(7, ":")}::"), 64).ToString());
}
