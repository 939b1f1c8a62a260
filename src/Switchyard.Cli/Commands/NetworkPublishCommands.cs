using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary><c>yard network publish|unpublish</c>: host ports published to a remote guest, one with no
/// endpoint on this host (a guest on a joining host, behind the network's VXLAN tunnel), known by its
/// lease of the network's dynamic pool (docs/multi-host.md, "Published ports").</summary>
internal static class NetworkPublishCommands
{
    private const string SpecHelp = "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]: the host port forwarded to the guest's port (host address default 127.0.0.1, protocol default tcp)";

    private static void ValidateSpec(System.CommandLine.Parsing.ArgumentResult r)
    {
        if (!PublishSpec.TryParse(r.GetValueOrDefault<string>(), out _, out var error)) r.AddError(error);
    }

    public static Command Publish()
    {
        var network = new Argument<string>("NETWORK") { Description = "A nat or host network whose gateway runs on this host" };
        var spec = new Argument<string>("SPEC") { Description = SpecHelp };
        spec.Validators.Add(ValidateSpec);
        var to = new Option<string>("--to")
        {
            Description = "The remote guest: its DHCP host name (NAME or NAME.DOMAIN), the IPv4 address its lease holds, or its MAC (see yard network leases NETWORK); the port is kept for its MAC and follows its lease",
            HelpName = "GUEST",
            Required = true,
        };
        var format = Output.FormatOption();
        var cmd = new Command("publish", "Publish a host port to a guest with no endpoint here (a guest on another host, behind the network's VXLAN tunnel), at once (kept across daemon restarts)")
        {
            network, spec, to, format,
        };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var info = await client.PublishToRemoteAsync(parse.GetValue(network)!, parse.GetValue(to)!, parse.GetValue(spec)!, ct);
            if (parse.GetValue(format) == "json") { Output.Json(info, SwitchyardJsonContext.Default.NetworkInfo); return 0; }
            PublishSpec.TryParse(parse.GetValue(spec), out var canonical, out _);
            var published = info.Published?.FirstOrDefault(p => p.Spec == canonical.ToString());
            string guest = published is null ? parse.GetValue(to)! : $"{published.HostName ?? published.Mac}, {published.Ipv4 ?? "no lease now"}";
            Console.WriteLine($"{info.Name}: published {canonical} to remote guest {guest}");
            return 0;
        }));
        return cmd;
    }

    public static Command Unpublish()
    {
        var network = new Argument<string>("NETWORK");
        var spec = new Argument<string>("SPEC") { Description = "A spec published to a remote guest, in any spelling (8080:80 is 127.0.0.1:8080:80/tcp)" };
        spec.Validators.Add(ValidateSpec);
        var cmd = new Command("unpublish", "Stop publishing a host port to a remote guest (the host port closes at once)") { network, spec };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            await client.UnpublishRemoteAsync(parse.GetValue(network)!, parse.GetValue(spec)!, ct);
            return 0;
        }));
        return cmd;
    }
}
