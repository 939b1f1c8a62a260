using System.Net;
using Switchyard.Cli.Commands;

namespace Switchyard.Cli.Tests;

/// <summary><c>yard daemon --http-listen</c>: loopback unless an address is given, a port always.</summary>
public sealed class HttpListenParseTests
{
    [Theory]
    [InlineData("9180", "127.0.0.1:9180")]
    [InlineData(":9180", "127.0.0.1:9180")]
    [InlineData("127.0.0.1:9180", "127.0.0.1:9180")]
    [InlineData("0.0.0.0:9180", "0.0.0.0:9180")]
    [InlineData("[::1]:9180", "[::1]:9180")]
    [InlineData("0", "127.0.0.1:0")]
    public void Parses(string text, string expected) =>
        Assert.Equal(IPEndPoint.Parse(expected), DaemonCommand.ParseHttpListen(text));

    [Theory]
    [InlineData("")]
    [InlineData("127.0.0.1")]        // no port
    [InlineData("localhost:9180")]   // a name: say which address
    [InlineData("::1")]              // v6 without brackets is ambiguous
    [InlineData("[::1]")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("abc")]
    public void Refuses(string text) => Assert.Null(DaemonCommand.ParseHttpListen(text));

    [Fact]
    public void A_bad_value_is_a_usage_error()
    {
        var r = YardCommand.Build().Parse(["daemon", "--http-listen", "nowhere"]);
        Assert.Contains(r.Errors, e => e.Message.Contains("--http-listen"));
    }
}
