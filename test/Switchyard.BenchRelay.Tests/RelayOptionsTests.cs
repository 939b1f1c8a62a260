namespace Switchyard.BenchRelay.Tests;

/// <summary>The command line: what it takes, and the clear refusals (exit 2 in the program).</summary>
public sealed class RelayOptionsTests
{
    // Parse checks the namespace file exists; this one always does on Linux, and a path is taken as given.
    private const string Ns = "/proc/self/ns/net";

    private static RelayOptions Parse(params string[] args) => RelayOptions.Parse(args);

    [Fact]
    public void Stream_TakesPathMtuAddressGatewayAndDefaults()
    {
        var o = Parse("--netns", Ns, "--stream-connect", "/tmp/p.sock", "--mtu", "65520", "--address", "10.1.2.3/24", "--gateway", "10.1.2.1");
        Assert.Equal(LinkKind.Stream, o.Kind);
        Assert.Equal("/tmp/p.sock", o.Target);
        Assert.Equal(65520, o.Mtu);
        Assert.Equal(new byte[] { 10, 1, 2, 3 }, o.Address);
        Assert.Equal(24, o.PrefixLength);
        Assert.Equal(new byte[] { 10, 1, 2, 1 }, o.Gateway);
        Assert.Equal("vm0", o.TapName);
        Assert.Equal(RelayOptions.DefaultBatch, o.Batch);
        Assert.Equal(0x02, o.Mac[0] & 0x03); // random, locally administered unicast
    }

    [Fact]
    public void NamespaceName_IsLookedUpUnderRunNetns()
    {
        var e = Assert.Throws<UsageException>(() => Parse("--netns", "no-such-ns-xyz", "--stream-connect", "/tmp/p.sock"));
        Assert.Contains("/run/netns/no-such-ns-xyz does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dgram_BindsNextToThePeerByDefault()
    {
        var o = Parse("--netns", Ns, "--dgram-connect", "/tmp/d.sock");
        Assert.Equal(LinkKind.Dgram, o.Kind);
        Assert.Equal("/tmp/d.sock.relay", o.Bind);
        Assert.Equal("/tmp/x.sock", Parse("--netns", Ns, "--dgram-connect", "/tmp/d.sock", "--dgram-bind", "/tmp/x.sock").Bind);
    }

    [Theory]
    [InlineData("5555", "127.0.0.1:5555", "127.0.0.1:0")]
    [InlineData("[::1]:5555", "[::1]:5555", "[::1]:0")]
    public void Udp_PortAloneIsLoopbackAndBindFollowsTheFamily(string connect, string target, string bind)
    {
        var o = Parse("--netns", Ns, "--udp-connect", connect);
        Assert.Equal(LinkKind.Udp, o.Kind);
        Assert.Equal(target, o.Target);
        Assert.Equal(bind, o.Bind);
    }

    [Theory]
    [InlineData("exactly one of", "--netns", Ns)]
    [InlineData("exactly one of", "--netns", Ns, "--stream-connect", "/a", "--udp-connect", "5555")]
    [InlineData("--netns is required", "--stream-connect", "/a")]
    [InlineData("the MTU can be at most 65493", "--netns", Ns, "--udp-connect", "5555", "--mtu", "65520")]
    [InlineData("expected a whole number from 68 to 65521", "--netns", Ns, "--stream-connect", "/a", "--mtu", "70000")]
    [InlineData("expected six hex pairs", "--netns", Ns, "--stream-connect", "/a", "--mac", "02:00:00")]
    [InlineData("non-zero unicast", "--netns", Ns, "--stream-connect", "/a", "--mac", "01:00:00:00:00:01")]
    [InlineData("expected an IPv4 address and prefix", "--netns", Ns, "--stream-connect", "/a", "--address", "10.0.0.2")]
    [InlineData("--gateway needs --address", "--netns", Ns, "--stream-connect", "/a", "--gateway", "10.0.0.1")]
    [InlineData("--dgram-bind goes with --dgram-connect", "--netns", Ns, "--stream-connect", "/a", "--dgram-bind", "/b")]
    [InlineData("must be of one address family", "--netns", Ns, "--udp-connect", "5555", "--udp-bind", "[::1]:0")]
    [InlineData("unknown option '--bogus'", "--netns", Ns, "--bogus")]
    [InlineData("--mtu needs a value", "--netns", Ns, "--mtu")]
    public void Refusals_SayWhatToChange(string expected, params string[] args)
    {
        var e = Assert.Throws<UsageException>(() => Parse(args));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_NamesEveryOption()
    {
        foreach (var option in new[] { "--netns", "--stream-connect", "--dgram-connect", "--dgram-bind", "--udp-connect", "--udp-bind", "--tap", "--mtu", "--mac", "--address", "--gateway", "--batch" })
        {
            Assert.Contains(option, RelayOptions.Help, StringComparison.Ordinal);
        }
    }
}
