using System.CommandLine;
using Switchyard.Cli.Commands;

namespace Switchyard.Cli.Tests;

/// <summary>--publish on attach, endpoint publish/unpublish and network create --no-host-loopback,
/// at parse level: a bad spec is a usage error before any daemon call.</summary>
public sealed class PublishParseTests
{
    private static ParseResult Parse(params string[] args) => YardCommand.Build().Parse(args);

    private static string Errors(ParseResult r) => string.Join("\n", r.Errors.Select(e => e.Message));

    [Fact]
    public void Attach_takes_repeated_publish_specs()
    {
        var r = Parse("endpoint", "attach", "net", "web", "--netns", "ns1", "--publish", "8080:80", "--publish", "0.0.0.0:5353:53/udp",
            "-p", "[::1]:8443:443/tcp");
        Assert.True(r.Errors.Count == 0, Errors(r));
        Assert.Equal(["8080:80", "0.0.0.0:5353:53/udp", "[::1]:8443:443/tcp"], r.GetValue<string[]>("--publish")!);
    }

    [Theory]
    [InlineData("80", "expected [HOSTIP:]HOSTPORT:GUESTPORT")]
    [InlineData("8080:0", "ports must be numbers from 1 to 65535")]
    [InlineData("8080:80/sctp", "protocol must be tcp or udp")]
    [InlineData("host:8080:80", "is not an IP address")]
    public void A_bad_publish_spec_is_a_usage_error(string spec, string message)
    {
        Assert.Contains(message, Errors(Parse("endpoint", "attach", "net", "web", "--netns", "ns1", "--publish", spec)));
        Assert.Contains(message, Errors(Parse("endpoint", "publish", "net", "web", spec)));
        Assert.Contains(message, Errors(Parse("endpoint", "unpublish", "net", "web", spec)));
    }

    [Theory]
    [InlineData("endpoint", "publish", "net", "web")]                        // missing SPEC
    [InlineData("endpoint", "publish", "net", "web", "8080:80", "extra")]
    [InlineData("endpoint", "unpublish", "net")]
    [InlineData("endpoint", "unpublish", "net", "web", "8080:80", "--format", "json")]   // nothing to format
    [InlineData("network", "create", "lab", "--no-host-loopback", "yes-please")]
    public void Malformed_publish_commands_are_errors(params string[] args) => Assert.NotEmpty(Parse(args).Errors);

    [Fact]
    public void Publish_and_unpublish_parse()
    {
        var publish = Parse("endpoint", "publish", "net", "web", "127.0.0.1:8080:80/tcp", "--format", "json");
        Assert.True(publish.Errors.Count == 0, Errors(publish));
        Assert.Equal("127.0.0.1:8080:80/tcp", publish.GetValue<string>("SPEC"));
        var unpublish = Parse("endpoint", "unpublish", "net", "web", "8080:80");
        Assert.True(unpublish.Errors.Count == 0, Errors(unpublish));
    }

    /// <summary>network publish|unpublish: a port to a remote guest (no endpoint here), --to required.</summary>
    [Fact]
    public void Network_publish_to_a_remote_guest_parses()
    {
        var publish = Parse("network", "publish", "lab", "--to", "bee", "0.0.0.0:8080:80/tcp", "--format", "json");
        Assert.True(publish.Errors.Count == 0, Errors(publish));
        Assert.Equal(("lab", "bee", "0.0.0.0:8080:80/tcp"), (publish.GetValue<string>("NETWORK"), publish.GetValue<string>("--to"), publish.GetValue<string>("SPEC")));
        var unpublish = Parse("network", "unpublish", "lab", "8080:80");
        Assert.True(unpublish.Errors.Count == 0, Errors(unpublish));
    }

    [Theory]
    [InlineData("network", "publish", "lab", "8080:80")]                           // no --to
    [InlineData("network", "publish", "lab", "--to", "bee")]                       // no SPEC
    [InlineData("network", "publish", "lab", "--to", "bee", "80")]                 // a bad spec
    [InlineData("network", "publish", "lab", "--to", "bee", "8080:80", "extra")]
    [InlineData("network", "unpublish", "lab")]
    [InlineData("network", "unpublish", "lab", "8080:80/sctp")]
    public void Malformed_network_publish_commands_are_errors(params string[] args) => Assert.NotEmpty(Parse(args).Errors);

    [Fact]
    public void Network_create_no_host_loopback_is_a_flag()
    {
        var r = Parse("network", "create", "lab", "--no-host-loopback", "--mode", "host");
        Assert.True(r.Errors.Count == 0, Errors(r));
        Assert.True(r.GetValue<bool>("--no-host-loopback"));
        Assert.False(Parse("network", "create", "lab").GetValue<bool>("--no-host-loopback"));
    }

    public static TheoryData<string[], string[]> HelpCases => new()
    {
        { ["endpoint", "attach"], ["--publish", "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]"] },
        { ["endpoint", "publish"], ["NETWORK", "NAME", "SPEC", "--format"] },
        { ["endpoint", "unpublish"], ["NETWORK", "NAME", "SPEC"] },
        { ["endpoint"], ["publish", "unpublish"] },
        { ["network", "create"], ["--no-host-loopback"] },
    };

    [Theory]
    [MemberData(nameof(HelpCases))]
    public void Help_lists_them(string[] command, string[] expected)
    {
        var output = new StringWriter();
        int exit = YardCommand.Build().Parse([.. command, "--help"]).Invoke(new InvocationConfiguration { Output = output, Error = new StringWriter() });
        Assert.Equal(0, exit);
        foreach (var e in expected) Assert.Contains(e, output.ToString());
    }
}
