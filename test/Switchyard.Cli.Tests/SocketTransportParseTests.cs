using System.CommandLine;
using Switchyard.Cli.Commands;

namespace Switchyard.Cli.Tests;

/// <summary>The socket transport options of <c>endpoint attach</c> and <c>yard connect</c>.</summary>
public sealed class SocketTransportParseTests
{
    private static ParseResult Parse(params string[] args) => YardCommand.Build().Parse(args);

    [Theory]
    [InlineData("--stream-listen", "/tmp/vm.sock")]
    [InlineData("--stream-connect", "/tmp/vm.sock")]
    [InlineData("--dgram-listen", "/tmp/vm.sock")]
    [InlineData("--udp-listen", "127.0.0.1:40001")]
    [InlineData("--udp-listen", "40001")]
    public void One_socket_target_parses(string option, string path) =>
        Assert.Empty(Parse("endpoint", "attach", "net", "vm", option, path).Errors);

    [Fact]
    public void A_dgram_peer_parses_with_dgram_listen() =>
        Assert.Empty(Parse("endpoint", "attach", "net", "vm", "--dgram-listen", "/tmp/a", "--dgram-peer", "/tmp/b", "--mac", "52:54:00:12:34:56").Errors);

    [Fact]
    public void A_udp_peer_parses_with_udp_listen() =>
        Assert.Empty(Parse("endpoint", "attach", "net", "vm", "--udp-listen", "[::1]:40001", "--udp-peer", "[::1]:40002").Errors);

    [Theory]
    [InlineData("--udp-listen", "40001", "--dgram-listen", "/tmp/b")]
    [InlineData("--udp-listen", "40001", "--netns", "ns")]
    [InlineData("--udp-peer", "127.0.0.1:40002")]
    [InlineData("--dgram-listen", "/tmp/a", "--udp-peer", "127.0.0.1:40002")]
    [InlineData("--udp-listen", "40001", "--dgram-peer", "/tmp/b")]
    [InlineData("--stream-listen", "/tmp/a", "--netns", "ns")]
    [InlineData("--stream-listen", "/tmp/a", "--dgram-listen", "/tmp/b")]
    [InlineData("--stream-connect", "/tmp/a", "--stream-listen", "/tmp/b")]
    [InlineData("--stream-listen", "/tmp/a", "--dgram-peer", "/tmp/b")]
    public void Conflicting_targets_are_errors(params string[] options)
    {
        var errors = Parse(["endpoint", "attach", "net", "vm", .. options]).Errors;
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Connect_needs_a_command() => Assert.NotEmpty(Parse("connect", "net", "vm").Errors);

    [Fact]
    public void Connect_takes_the_command_after_the_separator()
    {
        var parse = Parse("connect", "net", "vm", "--stream", "--", "qemu-system-x86_64", "-netdev", "stream,id=n0,addr.type=fd,addr.str=3");
        Assert.Empty(parse.Errors);
        var command = parse.CommandResult.Command.Arguments.OfType<Argument<string[]>>().Single();
        Assert.Equal(["qemu-system-x86_64", "-netdev", "stream,id=n0,addr.type=fd,addr.str=3"], parse.GetValue(command)!);
    }
}
