using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

internal static class EndpointCommands
{
    public static Command Build()
    {
        var cmd = new Command("endpoint", "Attach guests to networks, list, inspect and detach them");
        cmd.Subcommands.Add(Attach());
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Inspect());
        cmd.Subcommands.Add(Detach());
        cmd.Subcommands.Add(Publish());
        cmd.Subcommands.Add(Unpublish());
        return cmd;
    }

    private const string SpecHelp = "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]: the host port forwarded to the guest's port (host address default 127.0.0.1, protocol default tcp)";

    /// <summary>A publish spec is checked before any daemon call: a bad one is a usage error.</summary>
    private static void ValidateSpecs(System.CommandLine.Parsing.SymbolResult r, IEnumerable<string>? specs)
    {
        foreach (var spec in specs ?? [])
            if (!PublishSpec.TryParse(spec, out _, out var error)) r.AddError(error);
    }

    private static Command Attach()
    {
        var network = new Argument<string>("NETWORK");
        var name = new Argument<string>("NAME") { Description = "The endpoint's name: its DNS host name on the network" };
        var netns = new Option<string?>("--netns") { Description = "Create a TAP device in this network namespace (/run/netns/NS)" };
        var netnsPath = new Option<string?>("--netns-path") { Description = "Create a TAP device in the namespace at this path (e.g. /proc/PID/ns/net)" };
        var tap = new Option<string?>("--tap") { Description = "Attach this TAP device in the daemon's own namespace" };
        var streamListen = new Option<string?>("--stream-listen") { Description = "Listen on this unix socket for one VM (4-byte length before each frame: QEMU -netdev stream, socket_vmnet, Lima)" };
        var streamConnect = new Option<string?>("--stream-connect") { Description = "Connect to a VM listening on this unix socket, reconnecting while it is away" };
        var dgramListen = new Option<string?>("--dgram-listen") { Description = "Bind this unix datagram socket, a frame per datagram (QEMU -netdev dgram, vfkit, VZFileHandleNetworkDeviceAttachment)" };
        var dgramPeer = new Option<string?>("--dgram-peer") { Description = "The VM's own datagram socket path (default: learnt from its datagrams, and followed when the VM comes back on a new path once the old one is gone, as vfkit does)" };
        var udpListen = new Option<string?>("--udp-listen") { Description = "Bind this UDP [ADDR:]PORT, a frame per datagram (QEMU -netdev dgram/socket with inet addresses, libvirt <interface type='udp'>); a port alone listens on 127.0.0.1, another address only when given" };
        var udpPeer = new Option<string?>("--udp-peer") { Description = "The VM's own UDP [ADDR:]PORT (default: learnt from its first datagram); datagrams from any other source are dropped and counted" };
        var ifname = new Option<string?>("--ifname") { Description = "Interface name inside the namespace (default eth0, or the next free ethN when the namespace is already on another network)" };
        var mac = new Option<string?>("--mac") { Description = "The guest's MAC (default: kept from an earlier attach, else random)" };
        var ip = new Option<string?>("--ip") { Description = "Pin the guest's IPv4 address (default: kept from an earlier attach, else the first free)" };
        var configure = new Option<bool>("--configure") { Description = "Also set address, default route and resolv.conf in the namespace (no DHCP needed)" };
        var publish = new Option<string[]>("--publish") { Description = "Publish a host port to the guest, repeatable: " + SpecHelp + ". If one cannot be published, nothing is attached" };
        publish.Aliases.Add("-p");
        publish.Validators.Add(r => ValidateSpecs(r, r.GetValueOrDefault<string[]>()));
        var aliases = new Option<string[]>("--alias") { Description = "An extra DNS name for the guest on this network, repeatable" };
        var defaultRoute = new Option<bool>("--default-route") { Description = "This network gives the guest its default route (and resolver); its other networks stop. Default: only the first network a namespace is attached to" };
        var noDefaultRoute = new Option<bool>("--no-default-route") { Description = "This network gives the guest no default route" };
        var labels = new Option<string[]>("--label") { Description = "KEY=VALUE, repeatable: a note to find the endpoint by (endpoint ls --filter label=KEY=VALUE)" };
        var maxFlows = NetworkCommands.MaxFlowsOption("The most NAT flows this guest may hold (default: a quarter of the network's --max-flows)");
        var format = Output.FormatOption();
        var cmd = new Command("attach", "Attach a guest to a network")
        {
            network, name, netns, netnsPath, tap, streamListen, streamConnect, dgramListen, dgramPeer, udpListen, udpPeer, ifname, mac, ip, configure, publish, aliases,
            defaultRoute, noDefaultRoute, maxFlows, labels, format,
        };
        var egress = new EgressCommands.PolicyOptions();
        egress.AddTo(cmd);
        cmd.Validators.Add(r =>
        {
            int given = new[] { r.GetValue(netns), r.GetValue(netnsPath), r.GetValue(tap), r.GetValue(streamListen), r.GetValue(streamConnect), r.GetValue(dgramListen), r.GetValue(udpListen) }
                .Count(v => v is not null);
            if (given != 1) r.AddError("give exactly one of --netns NS, --netns-path PATH, --tap IFNAME, --stream-listen PATH, --stream-connect PATH, --dgram-listen PATH or --udp-listen [ADDR:]PORT");
            if (r.GetValue(dgramPeer) is not null && r.GetValue(dgramListen) is null) r.AddError("--dgram-peer goes with --dgram-listen");
            if (r.GetValue(udpPeer) is not null && r.GetValue(udpListen) is null) r.AddError("--udp-peer goes with --udp-listen");
            if (r.GetValue(tap) is not null && r.GetValue(ifname) is not null) r.AddError("--ifname applies to --netns/--netns-path; --tap already names the device");
            if (r.GetValue(defaultRoute) && r.GetValue(noDefaultRoute)) r.AddError("give --default-route or --no-default-route, not both");
        });
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var info = await client.AttachEndpointAsync(parse.GetValue(network)!, new EndpointAttachRequest
            {
                Name = parse.GetValue(name)!,
                Mac = parse.GetValue(mac),
                Ip = parse.GetValue(ip),
                Publish = parse.GetValue(publish) is { Length: > 0 } specs ? specs : null,
                Aliases = parse.GetValue(aliases) is { Length: > 0 } names ? names : null,
                DefaultRoute = parse.GetValue(defaultRoute) ? true : parse.GetValue(noDefaultRoute) ? false : null,
                Egress = egress.Read(parse),
                MaxFlows = parse.GetValue(maxFlows),
                Labels = Output.ParseLabels(parse.GetValue(labels)),
                Transport = (parse.GetValue(streamListen), parse.GetValue(streamConnect), parse.GetValue(dgramListen), parse.GetValue(udpListen)) switch
                {
                    (string path, _, _, _) => new TransportSpec { Kind = "stream", Listen = path },
                    (_, string path, _, _) => new TransportSpec { Kind = "stream", Connect = path },
                    (_, _, string path, _) => new TransportSpec { Kind = "dgram", Listen = path, Peer = parse.GetValue(dgramPeer) },
                    (_, _, _, string address) => new TransportSpec { Kind = "udp", Listen = address, Peer = parse.GetValue(udpPeer) },
                    _ => new TransportSpec
                    {
                        Kind = "tap",
                        Netns = parse.GetValue(netns),
                        NetnsPath = parse.GetValue(netnsPath),
                        Ifname = parse.GetValue(tap) ?? parse.GetValue(ifname),
                        Configure = parse.GetValue(configure),
                    },
                },
            }, ct);
            if (parse.GetValue(format) == "json") Output.Json(info, SwitchyardJsonContext.Default.EndpointInfo);
            else
            {
                Console.WriteLine($"{info.Network}/{info.Name}: {info.Ipv4}{(info.Ipv6 is [var v6, ..] ? " " + v6 : "")} {info.Mac} ({info.Fqdn}){(info.Transport.Ifname is { } dev && info.Transport.Kind == "tap" ? $" as {dev}" : "")}{(info.DefaultRoute ? ", default route" : "")}");
                foreach (var a in info.Aliases ?? []) Console.WriteLine($"  alias {a}");
                foreach (var p in info.Published ?? []) Console.WriteLine($"  published {p}");
            }
            return 0;
        }));
        return cmd;
    }

    private static Command List()
    {
        var network = new Argument<string?>("NETWORK") { Arity = ArgumentArity.ZeroOrOne, Description = "Only this network's endpoints" };
        var format = Output.FormatOption();
        var filter = ListOptions.Filter(ListFilter.EndpointKeys, ListOptions.EndpointFilterHelp);
        var cmd = new Command("ls", "List endpoints") { network, filter, format };
        cmd.Aliases.Add("list");
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var list = await client.ListEndpointsAsync(parse.GetValue(network), ListOptions.Read(parse, filter, ListFilter.EndpointKeys), ct);
            if (parse.GetValue(format) == "json") { Output.Json(list, SwitchyardJsonContext.Default.ListEndpointInfo); return 0; }
            Output.Table(["NETWORK", "NAME", "IPV4", "MAC", "TRANSPORT", "STATE", "LEASE", "PUBLISHED"],
                list.Select(e => (IReadOnlyList<string>)[e.Network, e.Name, e.Ipv4, e.Mac, Describe(e.Transport), e.State, e.Lease?.State ?? "-", DescribePublished(e)]));
            return 0;
        }));
        return cmd;
    }

    /// <summary>Published ports, comma-separated; one that is not listening is marked "(down)".</summary>
    private static string DescribePublished(EndpointInfo e) => e.Published is { Count: > 0 } list
        ? string.Join(",", list.Select(p => e.PublishErrors?.ContainsKey(p) == true ? $"{p}(down)" : p))
        : "-";

    private static string Describe(TransportSpec t) => t.Kind switch
    {
        "tap" when t.Netns is not null => $"tap netns:{t.Netns}/{t.Ifname}",
        "tap" when t.NetnsPath is not null => $"tap {t.NetnsPath}/{t.Ifname}",
        "tap" => $"tap {t.Ifname}",
        "stream" when t.Listen is not null => $"stream listen {t.Listen} ({t.State})",
        "stream" => $"stream connect {t.Connect} ({t.State})",
        "dgram" => $"dgram {t.Listen} ({t.State})",
        "udp" => $"udp {t.Listen}{(t.CurrentPeer is { } peer ? " <-> " + peer : "")} ({t.State})",
        _ => $"{t.Kind} ({t.State})",
    };

    private static Command Inspect()
    {
        var network = new Argument<string>("NETWORK");
        var name = new Argument<string>("NAME");
        var cmd = new Command("inspect", "Show an endpoint as JSON: MAC, addresses, transport, lease, published ports, counters") { network, name };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            Output.Json(await client.GetEndpointAsync(parse.GetValue(network)!, parse.GetValue(name)!, ct), SwitchyardJsonContext.Default.EndpointInfo);
            return 0;
        }));
        return cmd;
    }

    private static Command Detach()
    {
        var network = new Argument<string>("NETWORK");
        var name = new Argument<string>("NAME");
        var cmd = new Command("detach", "Detach an endpoint (its address stays reserved for its name)") { network, name };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            await client.DetachEndpointAsync(parse.GetValue(network)!, parse.GetValue(name)!, ct);
            return 0;
        }));
        return cmd;
    }

    private static Command Publish()
    {
        var network = new Argument<string>("NETWORK");
        var name = new Argument<string>("NAME");
        var spec = new Argument<string>("SPEC") { Description = SpecHelp };
        spec.Validators.Add(r => ValidateSpecs(r, [r.GetValueOrDefault<string>()]));
        var format = Output.FormatOption();
        var cmd = new Command("publish", "Publish a host port to an attached endpoint, at once (kept across daemon restarts)") { network, name, spec, format };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var info = await client.PublishAsync(parse.GetValue(network)!, parse.GetValue(name)!, parse.GetValue(spec)!, ct);
            if (parse.GetValue(format) == "json") { Output.Json(info, SwitchyardJsonContext.Default.EndpointInfo); return 0; }
            PublishSpec.TryParse(parse.GetValue(spec), out var canonical, out _);
            Console.WriteLine($"{info.Network}/{info.Name}: published {canonical} ({info.Ipv4}:{canonical.GuestPort})");
            return 0;
        }));
        return cmd;
    }

    private static Command Unpublish()
    {
        var network = new Argument<string>("NETWORK");
        var name = new Argument<string>("NAME");
        var spec = new Argument<string>("SPEC") { Description = "A published spec, in any spelling (8080:80 is 127.0.0.1:8080:80/tcp)" };
        spec.Validators.Add(r => ValidateSpecs(r, [r.GetValueOrDefault<string>()]));
        var cmd = new Command("unpublish", "Stop publishing a host port (the host port closes at once)") { network, name, spec };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            await client.UnpublishAsync(parse.GetValue(network)!, parse.GetValue(name)!, parse.GetValue(spec)!, ct);
            return 0;
        }));
        return cmd;
    }
}
