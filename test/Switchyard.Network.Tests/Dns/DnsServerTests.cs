using Switchyard.Network.Dns;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Packets;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.DnsTestMessages;

namespace Switchyard.Network.Tests.Dns;

public class DnsServerTests
{
    private static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.88.0.0/24");
    private static readonly Ipv4Address Gw = Subnet.FirstHost;
    private static readonly Ipv4Address AlphaIp = Ipv4Address.Parse("10.88.0.10");
    private const string Domain = "test.internal";

    private readonly FakeNames _names = new();

    public DnsServerTests()
    {
        _names.Hosts["alpha"] = AlphaIp;
        _names.Hosts["gateway"] = Gw;
    }

    private DnsServer Server(DnsForwarder? forwarder = null) => new(Domain + ".", Subnet, _names, forwarder);

    private static DnsReply Resolve(DnsServer server, byte[] query)
    {
        var response = new byte[4096];
        var task = server.ResolveAsync(query, response);
        Assert.True(task.IsCompleted, "local answers complete synchronously");
        int n = task.Result;
        Assert.True(n > 0);
        var reply = Parse(response.AsSpan(0, n));
        Assert.True(reply.Header.IsResponse);
        Assert.Equal(DnsMessage.ReadId(query), reply.Header.Id);
        return reply;
    }

    [Theory]
    [InlineData("alpha.test.internal")]
    [InlineData("ALPHA.Test.Internal")]
    [InlineData("alpha.test.internal.")]
    [InlineData("alpha")]
    [InlineData("Alpha")]
    public void A_ForLocalName(string name)
    {
        var reply = Resolve(Server(), Query(name, DnsType.A));
        Assert.Equal(DnsResponseCode.NoError, reply.Header.ResponseCode);
        Assert.True(reply.Header.Authoritative);
        Assert.True(reply.Header.RecursionDesired);
        var a = Assert.Single(reply.Answers);
        Assert.Equal(DnsType.A, a.Type);
        Assert.Equal(AlphaIp, a.Address);
        Assert.Equal(DnsServer.LocalTtl, a.Ttl);
        Assert.Equal(name.TrimEnd('.'), a.Name);
    }

    [Fact]
    public void A_ForGateway()
    {
        var reply = Resolve(Server(), Query("gateway.test.internal", DnsType.A));
        Assert.Equal(Gw, Assert.Single(reply.Answers).Address);
    }

    [Fact]
    public void Aaaa_ForKnownName_IsNoDataWithSoa()
    {
        var reply = Resolve(Server(), Query("alpha.test.internal", DnsType.AAAA));
        Assert.Equal(DnsResponseCode.NoError, reply.Header.ResponseCode);
        Assert.Empty(reply.Answers);
        var soa = Assert.Single(reply.Authority);
        Assert.Equal(DnsType.SOA, soa.Type);
        Assert.Equal(Domain, soa.Name);
    }

    [Fact]
    public void UnknownNameInDomain_IsNxDomainWithSoa()
    {
        var reply = Resolve(Server(), Query("nobody.test.internal", DnsType.A));
        Assert.Equal(DnsResponseCode.NXDomain, reply.Header.ResponseCode);
        Assert.Empty(reply.Answers);
        Assert.Equal(DnsType.SOA, Assert.Single(reply.Authority).Type);
    }

    [Fact]
    public void UnknownBareName_IsNxDomainAndNeverForwarded()
    {
        // A forwarder whose upstream list throws if it is ever consulted.
        using var forwarder = new DnsForwarder(() => throw new InvalidOperationException("must not forward"), new DnsCache(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var reply = Resolve(Server(forwarder), Query("nobody", DnsType.A));
        Assert.Equal(DnsResponseCode.NXDomain, reply.Header.ResponseCode);
        Assert.Equal(DnsType.SOA, Assert.Single(reply.Authority).Type);
        Assert.Equal(0, forwarder.Forwarded);
    }

    [Fact]
    public void Apex_IsNoData()
    {
        var reply = Resolve(Server(), Query("test.internal", DnsType.A));
        Assert.Equal(DnsResponseCode.NoError, reply.Header.ResponseCode);
        Assert.Empty(reply.Answers);
        Assert.Single(reply.Authority);
    }

    [Fact]
    public void Ptr_ForKnownSubnetAddress()
    {
        var reply = Resolve(Server(), Query(DnsName.FormatReverseIpv4(AlphaIp), DnsType.PTR));
        Assert.Equal(DnsResponseCode.NoError, reply.Header.ResponseCode);
        var ptr = Assert.Single(reply.Answers);
        Assert.Equal(DnsType.PTR, ptr.Type);
        Assert.Equal("alpha.test.internal", ptr.Target);
    }

    [Fact]
    public void Ptr_ForUnknownSubnetAddress_IsNxDomain()
    {
        var reply = Resolve(Server(), Query("99.0.88.10.in-addr.arpa", DnsType.PTR));
        Assert.Equal(DnsResponseCode.NXDomain, reply.Header.ResponseCode);
        var soa = Assert.Single(reply.Authority);
        Assert.Equal(DnsType.SOA, soa.Type);
        Assert.Equal("in-addr.arpa", soa.Name);
    }

    [Fact]
    public void Ptr_OutsideSubnet_WithoutForwarder_IsRefused()
    {
        var reply = Resolve(Server(), Query("8.8.8.8.in-addr.arpa", DnsType.PTR));
        Assert.Equal(DnsResponseCode.Refused, reply.Header.ResponseCode);
    }

    [Fact]
    public void EdnsQuery_GetsOptInAnswer()
    {
        var reply = Resolve(Server(), Query("alpha.test.internal", DnsType.A, edns: true));
        Assert.Single(reply.Answers);
        var opt = Assert.Single(reply.Additional);
        Assert.Equal(DnsType.OPT, opt.Type);
        Assert.Equal(DnsServer.EdnsPayloadSize, (ushort)opt.Class);
    }

    [Fact]
    public void EdnsNegative_AlsoCarriesOpt()
    {
        var reply = Resolve(Server(), Query("nobody.test.internal", DnsType.A, edns: true));
        Assert.Equal(DnsType.OPT, Assert.Single(reply.Additional).Type);
    }

    [Fact]
    public void NonEdnsQuery_GetsNoOpt()
    {
        Assert.Empty(Resolve(Server(), Query("alpha.test.internal", DnsType.A)).Additional);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void NonZeroOpcode_IsNotImp(byte opcode)
    {
        var reply = Resolve(Server(), Query("alpha.test.internal", DnsType.A, opcode: opcode));
        Assert.Equal(DnsResponseCode.NotImp, reply.Header.ResponseCode);
        Assert.Equal(opcode, reply.Header.Opcode);
        Assert.Empty(reply.Answers);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void QuestionCountOtherThanOne_IsFormErr(int questions)
    {
        var reply = Resolve(Server(), Query("alpha.test.internal", DnsType.A, questions: questions));
        Assert.Equal(DnsResponseCode.FormErr, reply.Header.ResponseCode);
        Assert.Empty(reply.Questions);
    }

    [Fact]
    public void ExternalName_WithoutForwarder_IsRefused()
    {
        // A network without a forwarder (internal) refuses by policy: the guest fails fast (RFC 1035 §4.1.1).
        var reply = Resolve(Server(), Query("example.com", DnsType.A));
        Assert.Equal(DnsResponseCode.Refused, reply.Header.ResponseCode);
        Assert.Equal("example.com", Assert.Single(reply.Questions).Name);
        Assert.False(reply.Header.Authoritative);
    }

    [Fact]
    public async Task ResponseOrTruncatedHeader_GetsNoAnswer()
    {
        var server = Server();
        var response = new byte[512];
        var asResponse = Query("alpha", DnsType.A);
        asResponse[2] |= 0x80;
        Assert.Equal(0, await server.ResolveAsync(asResponse, response));
        Assert.Equal(0, await server.ResolveAsync(new byte[5], response));
    }
}
