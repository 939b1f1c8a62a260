using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;
using Switchyard.Daemon.Tests.Control;

namespace Switchyard.Daemon.Tests.Planning;

/// <summary>What --udp-listen and --udp-peer accept, what is stored, and who may ask for it.</summary>
public sealed class UdpTransportPlannerTests
{
    private static StoredTransport Udp(string listen, string? peer = null) =>
        TransportPlanner.Normalize(new TransportSpec { Kind = "udp", Listen = listen, Peer = peer }, macGiven: false);

    [Theory]
    [InlineData("5000", null, "127.0.0.1:5000", null)]
    [InlineData("localhost:5000", "5001", "127.0.0.1:5000", "127.0.0.1:5001")]
    [InlineData("127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.1:5000", "127.0.0.1:5001")]
    [InlineData("0.0.0.0:5000", "192.0.2.7:6000", "0.0.0.0:5000", "192.0.2.7:6000")]
    [InlineData("[::1]:5000", "5001", "[::1]:5000", "[::1]:5001")]
    [InlineData("[::ffff:127.0.0.1]:5000", null, "127.0.0.1:5000", null)]
    [InlineData(" 10.0.0.2:7 ", null, "10.0.0.2:7", null)]
    public void Addresses_are_stored_in_one_form(string listen, string? peer, string stored, string? storedPeer)
    {
        var t = Udp(listen, peer);
        Assert.Equal(TransportKind.Udp, t.Kind);
        Assert.Equal(stored, t.Listen);
        Assert.Equal(storedPeer, t.Peer);
        Assert.True(t.LearnMac);
        Assert.Equal(t, StoredTransport.FromJson(t.ToJson()));
        Assert.Equal("udp", TransportPlanner.ToSpec(t).Kind);
    }

    [Theory]
    [InlineData("", null, "needs ADDR:PORT")]
    [InlineData("::1", null, "expected ADDR:PORT")]
    [InlineData("[::1]", null, "expected ADDR:PORT")]
    [InlineData("127.0.0.1", null, "expected ADDR:PORT")]
    [InlineData("host.example:5000", null, "expected ADDR:PORT")]
    [InlineData("127.0.0.1:0", null, "1-65535")]
    [InlineData("127.0.0.1:70000", null, "expected ADDR:PORT")]
    [InlineData("0", null, "1-65535")]
    [InlineData("239.1.2.3:5000", null, "multicast")]
    [InlineData("127.0.0.1:5000", "[::1]:5001", "one family")]
    [InlineData("127.0.0.1:5000", "0.0.0.0:5001", "unicast")]
    [InlineData("127.0.0.1:5000", "255.255.255.255:5001", "unicast")]
    [InlineData("127.0.0.1:5000", "224.0.0.1:5001", "unicast")]
    public void Bad_addresses_are_refused_before_anything_is_made(string listen, string? peer, string message) =>
        Assert.Contains(message, Assert.Throws<ControlException>(() => Udp(listen, peer)).Message);

    [Fact]
    public void A_udp_endpoint_takes_no_path_or_namespace()
    {
        Assert.Throws<ControlException>(() => TransportPlanner.Normalize(new TransportSpec { Kind = "udp" }, macGiven: false));
        Assert.Throws<ControlException>(() => TransportPlanner.Normalize(new TransportSpec { Kind = "udp", Listen = "5000", Connect = "x" }, macGiven: false));
        Assert.Throws<ControlException>(() => TransportPlanner.Normalize(new TransportSpec { Kind = "udp", Listen = "5000", Netns = "g" }, macGiven: false));
        Assert.Contains("--udp-peer", Assert.Throws<ControlException>(() =>
            TransportPlanner.Normalize(new TransportSpec { Kind = "stream", Listen = "/tmp/x.sock", Peer = "5000" }, macGiven: false)).Message);
    }

    [Theory]
    [InlineData("127.0.0.1:5000", null, null)]
    [InlineData("[::1]:5000", "[::1]:5001", null)]
    [InlineData("0.0.0.0:5000", null, "non-loopback")]
    [InlineData("127.0.0.1:1023", null, "privileged")]
    [InlineData("127.0.0.1:5000", "192.0.2.7:5001", "loopback peer")]
    public void A_member_listens_on_loopback_and_sends_to_loopback(string listen, string? peer, string? refusal)
    {
        var policy = new CallerPolicy(500, new FakeAccessFacts());
        var member = new Caller(1000, 1000, [], 3);
        var request = new EndpointAttachRequest { Name = "vm", Transport = new TransportSpec { Kind = "udp", Listen = listen, Peer = peer } };
        if (refusal is null) policy.CheckAttach(member, request);
        else Assert.Contains(refusal, Assert.Throws<ControlException>(() => policy.CheckAttach(member, request)).Message);
        policy.CheckAttach(new Caller(0, 0, [], 1), request); // root may listen anywhere
    }
}
