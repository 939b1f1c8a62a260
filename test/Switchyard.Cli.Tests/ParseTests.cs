using System.CommandLine;
using Switchyard.Cli.Commands;

namespace Switchyard.Cli.Tests;

/// <summary>The command tree at parse level: no daemon, no invocation (except --help).</summary>
public sealed class ParseTests
{
    private static ParseResult Parse(params string[] args) => YardCommand.Build().Parse(args);

    private static void Ok(params string[] args)
    {
        var r = Parse(args);
        Assert.True(r.Errors.Count == 0, string.Join("; ", r.Errors.Select(e => e.Message)));
    }

    private static string Fails(params string[] args)
    {
        var r = Parse(args);
        Assert.NotEmpty(r.Errors);
        return string.Join("\n", r.Errors.Select(e => e.Message));
    }

    [Theory]
    [InlineData("network", "ls", "--bogus")]
    [InlineData("network", "frobnicate")]
    [InlineData("frobnicate")]
    [InlineData("endpoint", "inspect", "n", "e", "--nope")]
    [InlineData("network", "create")]                 // missing NAME
    [InlineData("network", "create", "a", "b")]       // extra argument
    [InlineData("endpoint", "detach", "net")]         // missing NAME
    [InlineData("version", "extra")]
    public void Unknown_or_malformed_input_is_an_error(params string[] args) => Fails(args);

    [Fact]
    public void Update_needs_something_to_change()
    {
        Assert.Contains("nothing to change", Fails("network", "update", "net"));
        Fails("network", "update", "net", "--host-loopback", "maybe");
        Ok("network", "update", "net", "--mode", "internal");
        Ok("network", "update", "net", "--host-loopback", "false");
    }

    [Fact]
    public void Attach_takes_aliases_and_one_default_route_choice()
    {
        Ok("endpoint", "attach", "net", "g", "--netns", "ns", "--alias", "db", "--alias", "cache", "--default-route");
        Ok("endpoint", "attach", "net", "g", "--netns", "ns", "--no-default-route");
        Assert.Contains("not both", Fails("endpoint", "attach", "net", "g", "--netns", "ns", "--default-route", "--no-default-route"));
    }

    [Fact]
    public void Attach_without_a_target_is_a_validation_error()
    {
        var message = Fails("endpoint", "attach", "net", "guest");
        Assert.Contains("exactly one of --netns", message);
    }

    [Theory]
    [InlineData("--netns", "a", "--tap", "t0")]
    [InlineData("--netns", "a", "--netns-path", "/proc/1/ns/net")]
    [InlineData("--netns-path", "/proc/1/ns/net", "--tap", "t0")]
    public void Attach_with_two_targets_is_an_error(params string[] targets)
    {
        var message = Fails(["endpoint", "attach", "net", "guest", .. targets]);
        Assert.Contains("exactly one of", message);
    }

    [Fact]
    public void Attach_tap_with_ifname_is_an_error()
    {
        Assert.Contains("--ifname", Fails("endpoint", "attach", "net", "g", "--tap", "t0", "--ifname", "eth1"));
    }

    [Theory]
    [InlineData("--netns", "ns1")]
    [InlineData("--netns-path", "/proc/1/ns/net")]
    [InlineData("--tap", "tap0")]
    public void Attach_with_one_target_parses(params string[] target) =>
        Ok(["endpoint", "attach", "net", "guest", .. target, "--mac", "02:00:00:00:00:01", "--ip", "10.0.0.5", "--label", "a=b", "--configure"]);

    [Theory]
    [InlineData("network", "ls")]
    [InlineData("network", "create", "n")]
    [InlineData("network", "leases", "n")]
    [InlineData("endpoint", "ls")]
    [InlineData("version")]
    public void Format_xml_is_an_error(params string[] args)
    {
        Assert.Contains("--format must be table or json", Fails([.. args, "--format", "xml"]));
        Ok([.. args, "--format", "json"]);
        Ok([.. args, "--format", "table"]);
    }

    [Fact]
    public void Network_create_takes_repeated_dns_upstreams_and_labels()
    {
        var root = YardCommand.Build();
        var r = root.Parse(["network", "create", "lab", "--dns-upstream", "192.0.2.1", "--dns-upstream", "192.0.2.2:5353",
            "--label", "a=1", "--label", "b=2", "--mtu", "9000", "--subnet", "10.1.0.0/24", "--mode", "internal", "--domain", "lab.test"]);
        Assert.Empty(r.Errors);
        var create = r.CommandResult.Command;
        Assert.Equal("create", create.Name);
        Assert.Equal(["192.0.2.1", "192.0.2.2:5353"], r.GetValue<string[]>("--dns-upstream")!);
        Assert.Equal(["a=1", "b=2"], r.GetValue<string[]>("--label")!);
        Assert.Equal(9000, r.GetValue<int?>("--mtu"));
        Assert.Equal("lab", r.GetValue<string>("NAME"));
    }

    [Fact]
    public void Network_create_takes_allow_host_subnet_as_a_switch()
    {
        var r = YardCommand.Build().Parse(["network", "create", "lab", "--subnet", "192.168.1.0/24", "--allow-host-subnet"]);
        Assert.Empty(r.Errors);
        Assert.True(r.GetValue<bool>("--allow-host-subnet"));
        Assert.False(YardCommand.Build().Parse(["network", "create", "lab"]).GetValue<bool>("--allow-host-subnet"));
    }

    [Theory]
    [InlineData(new[] { "network", "create", "lab", "--ipv6" }, "auto")]
    [InlineData(new[] { "network", "create", "lab", "--ipv6", "fd00:1::/64" }, "fd00:1::/64")]
    [InlineData(new[] { "network", "create", "lab", "--ipv6=fd00:1::/48" }, "fd00:1::/48")]   // the daemon refuses it
    [InlineData(new[] { "network", "create", "lab" }, null)]
    public void Network_create_ipv6_takes_an_optional_prefix(string[] args, string? expected)
    {
        var r = YardCommand.Build().Parse(args);
        Assert.Empty(r.Errors);
        Assert.Equal("lab", r.GetValue<string>("NAME"));
        var option = r.CommandResult.Command.Options.Single(o => o.Name == "--ipv6");
        Assert.Equal(expected, r.GetResult(option) is null ? null : r.GetValue<string?>("--ipv6"));
    }

    [Fact]
    public void Network_create_ipv6_before_the_name_says_how_to_write_it() =>
        Assert.Contains("put --ipv6 after NAME", Fails("network", "create", "--ipv6", "lab"));

    [Fact]
    public void Mtu_must_be_a_number()
    {
        Assert.Contains("abc", Fails("network", "create", "x", "--mtu", "abc"));
    }

    [Fact]
    public void Socket_option_is_recursive()
    {
        var r = Parse("network", "ls", "--socket", "/tmp/x.sock");
        Assert.Empty(r.Errors);
        Assert.Equal("/tmp/x.sock", r.GetValue(YardCommand.Socket));
    }

    [Fact]
    public void Aliases_parse()
    {
        Ok("network", "list");
        Ok("network", "remove", "n");
        Ok("endpoint", "list", "n");
    }

    public static TheoryData<string[], string[]> HelpCases => new()
    {
        { ["network", "create"], ["--mode", "--subnet", "--allow-host-subnet", "--mtu", "--domain", "--dns-upstream", "--label", "--format", "--socket"] },
        { ["network", "ls"], ["--format"] },
        { ["network", "inspect"], ["NAME"] },
        { ["network", "leases"], ["--format"] },
        { ["network", "rm"], ["NAME"] },
        { ["endpoint", "attach"], ["--netns", "--netns-path", "--tap", "--ifname", "--mac", "--ip", "--configure", "--label", "--format"] },
        { ["endpoint", "ls"], ["--format"] },
        { ["endpoint", "inspect"], ["NETWORK", "NAME"] },
        { ["endpoint", "detach"], ["NETWORK", "NAME"] },
        { ["daemon"], ["--state-dir", "--group", "--resolv-conf", "--socket"] },
        { ["version"], ["--format"] },
        { ["demo"], ["--keep"] },
        { ["network"], ["create", "ls", "inspect", "leases", "rm"] },
        { ["endpoint"], ["attach", "ls", "inspect", "detach"] },
        { [], ["daemon", "network", "endpoint", "version", "demo", "--socket"] },
    };

    [Theory]
    [MemberData(nameof(HelpCases))]
    public void Help_lists_the_options(string[] command, string[] expected)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = YardCommand.Build().Parse([.. command, "--help"]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        Assert.Equal(0, exit);
        var text = output.ToString();
        Assert.Contains("Usage:", text);
        foreach (var e in expected) Assert.Contains(e, text);
        Assert.Equal("", error.ToString());
    }
}
