using System.Net;
using System.Net.Sockets;

namespace Switchyard.Client.Tests;

/// <summary>The publish spec text the CLI checks (Cli.Tests' PublishParseTests drive the same cases through
/// the commands) and the daemon converts.</summary>
public sealed class PublishSpecTests
{
    [Theory]
    [InlineData("8080:80", "127.0.0.1:8080:80/tcp")]
    [InlineData(" 8080:80/TCP ", "127.0.0.1:8080:80/tcp")]
    [InlineData("0.0.0.0:5353:53/udp", "0.0.0.0:5353:53/udp")]
    [InlineData("[::1]:8443:443/tcp", "[::1]:8443:443/tcp")]
    [InlineData("127.0.0.1:8080:80/tcp", "127.0.0.1:8080:80/tcp")]
    public void Parses_to_its_canonical_spelling(string text, string canonical)
    {
        Assert.True(PublishSpec.TryParse(text, out var spec, out var error), error);
        Assert.Equal(canonical, spec.ToString());
        Assert.True(PublishSpec.TryParse(canonical, out var again, out _));
        Assert.Equal(spec, again);
    }

    [Fact]
    public void Fields_default_to_loopback_and_tcp()
    {
        Assert.True(PublishSpec.TryParse("8080:80", out var spec, out _));
        Assert.Equal(new PublishSpec(IPAddress.Loopback, 8080, 80, ProtocolType.Tcp), spec);
        Assert.Equal("tcp", spec.ProtocolName);
    }

    [Theory]
    [InlineData("80", "publish spec '80': expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]")]
    [InlineData("8080:0", "publish spec '8080:0': ports must be numbers from 1 to 65535")]
    [InlineData("8080:80/sctp", "publish spec '8080:80/sctp': protocol must be tcp or udp")]
    [InlineData("host:8080:80", "publish spec 'host:8080:80': 'host' is not an IP address")]
    [InlineData("10.1:8080:80", "publish spec '10.1:8080:80': '10.1' is not an IP address")]
    [InlineData("", "empty publish spec: expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]")]
    [InlineData(null, "empty publish spec: expected [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]")]
    public void Bad_specs_say_what_is_wrong(string? text, string message)
    {
        Assert.False(PublishSpec.TryParse(text, out _, out var error));
        Assert.Equal(message, error);
    }
}
