using System.CommandLine;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

internal static class NetworkCommands
{
    public static Command Build()
    {
        var cmd = new Command("network", "Create, list, inspect and remove networks");
        cmd.Subcommands.Add(Create());
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Update());
        cmd.Subcommands.Add(Inspect());
        cmd.Subcommands.Add(Leases());
        cmd.Subcommands.Add(NetworkPublishCommands.Publish());
        cmd.Subcommands.Add(NetworkPublishCommands.Unpublish());
        cmd.Subcommands.Add(Remove());
        cmd.Subcommands.Add(NetworkPruneCommand.Build());
        return cmd;
    }

    private static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "The network's name (also its default DNS domain NAME.internal)" };
        var mode = new Option<string?>("--mode") { Description = "nat (default), host, internal, bridged or bridged:IFACE (guests join the LAN of IFACE, default the interface of the host's default route; see yard interfaces), or bridged:vxlan (join a network another host's gateway serves, over --vxlan)" };
        var subnet = new Option<string?>("--subnet") { Description = "IPv4 CIDR, e.g. 10.10.0.0/24 (default: the first free 192.168.N.0/24); loopback, link-local, multicast, 0.0.0.0/8 and 240.0.0.0/4 are refused, and so are ranges the host routes unless --allow-host-subnet" };
        var allowHostSubnet = new Option<bool>("--allow-host-subnet") { Description = "Take --subnet (and --ipv6) even where it overlaps a range the host itself routes (its LAN, a VPN): the guests then shadow those hosts" };
        var mtu = new Option<int?>("--mtu") { Description = "MTU of the guests' links, 576-65520 (default 1500; with --vxlan the underlay route's MTU minus 50, 70 on an IPv6 underlay)" };
        var domain = new Option<string?>("--domain") { Description = "DNS domain of the guests (default NAME.internal)" };
        var dns = new Option<string[]>("--dns-upstream") { Description = "Upstream resolver IP[:PORT], repeatable; 'none' for no forwarding (default: the host's resolvers, from the daemon's --resolv-conf file, followed as it changes)" };
        var noHostLoopback = new Option<bool>("--no-host-loopback") { Description = "Do not let guests reach the host's 127.0.0.1 through the gateway's address (and host.DOMAIN); nat and host modes have it on by default" };
        var labels = new Option<string[]>("--label") { Description = "KEY=VALUE, repeatable: a note to find the network by (network ls|prune --filter label=KEY=VALUE)" };
        var maxFlows = MaxFlowsOption("The most NAT flows (TCP, UDP and ICMP sockets together) the network may hold; each guest may hold a quarter of it unless attached with its own --max-flows (default 16384, never more than half the daemon's file descriptor budget)");
        var ipv6 = new Option<string?>("--ipv6")
        {
            Description = "IPv6 for the guests (SLAAC, AAAA records, NAT66 in nat mode): a /64 PREFIX, or without a value a stable unique local /64 derived from the network's name",
            HelpName = "PREFIX",
            Arity = ArgumentArity.ZeroOrOne,
            // "--ipv6 NAME" would take the network's name as the prefix: say how to write it.
            CustomParser = result =>
            {
                if (result.Tokens.Count == 0) return "auto";
                string value = result.Tokens[0].Value;
                if (!value.Contains(':')) result.AddError($"--ipv6: '{value}' is not an IPv6 prefix (put --ipv6 after NAME, or write --ipv6=PREFIX)");
                return value;
            },
        };
        var dhcpRange = DhcpRangeOption("Addresses the gateway's DHCP server gives to guests it has no endpoint for (guests on other hosts, behind a VXLAN tunnel), e.g. 10.0.0.128-10.0.0.254; endpoint addresses never come from it (default: the upper half of the subnet when the network has a tunnel, else none)");
        var format = Output.FormatOption();
        var cmd = new Command("create", "Create a network") { name, mode, subnet, allowHostSubnet, mtu, domain, dns, noHostLoopback, ipv6, maxFlows, dhcpRange, labels, format };
        var egress = new EgressCommands.PolicyOptions();
        egress.AddTo(cmd);
        var vxlan = new VxlanOptions();
        vxlan.AddTo(cmd);
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var info = await client.CreateNetworkAsync(new NetworkCreateRequest
            {
                Name = parse.GetValue(name)!,
                Mode = parse.GetValue(mode),
                Subnet = parse.GetValue(subnet),
                Mtu = parse.GetValue(mtu),
                Domain = parse.GetValue(domain),
                DnsUpstreams = parse.GetValue(dns),
                HostLoopback = parse.GetValue(noHostLoopback) ? false : null,
                Ipv6 = parse.GetResult(ipv6) is null ? null : parse.GetValue(ipv6) ?? "auto",
                Egress = egress.Read(parse),
                MaxFlows = parse.GetValue(maxFlows),
                Labels = Output.ParseLabels(parse.GetValue(labels)),
                AllowHostSubnet = parse.GetValue(allowHostSubnet) ? true : null,
                Vxlan = vxlan.Read(parse),
                DhcpRange = parse.GetValue(dhcpRange),
            }, ct);
            if (parse.GetValue(format) == "json") Output.Json(info, SwitchyardJsonContext.Default.NetworkInfo);
            else if (info.BridgeInterface is { } iface) Console.WriteLine($"{info.Name}: bridged to {iface} (the LAN's DHCP server configures the guests), MTU {info.Mtu}{EgressNote(info)}");
            else if (info.Mode == "bridged" && info.Vxlan is { } joined) Console.WriteLine($"{info.Name}: joined over {VxlanOptions.Note(joined)} (the gateway host's DHCP server configures the guests), MTU {info.Mtu}");
            else Console.WriteLine($"{info.Name}: {info.Subnet} gateway {info.Gateway}{(info.Ipv6Prefix is null ? "" : $", {info.Ipv6Prefix} gateway {info.Ipv6Gateway}")}, mode {info.Mode}{LoopbackNote(info)}, domain {info.Domain}{EgressNote(info)}"
                + (info.Vxlan is { } tunnel ? $", {VxlanOptions.Note(tunnel)}, MTU {info.Mtu}" : ""));
            foreach (var warning in info.Warnings ?? []) Console.Error.WriteLine($"yard: warning: {warning}");
            return 0;
        }));
        return cmd;
    }

    private static Command Update()
    {
        var name = new Argument<string>("NAME");
        var mode = new Option<string?>("--mode") { Description = "nat, host, internal, bridged or bridged:IFACE (refused while endpoints are attached)" };
        var hostLoopback = new Option<bool?>("--host-loopback") { Description = "true or false: whether the gateway's address reaches the host's 127.0.0.1 (refused while endpoints are attached)" };
        var egressDefault = new Option<string?>("--egress") { Description = "deny (an allowlist) or allow (a denylist): the egress policy's default; applies to new flows at once" };
        var allow = EgressCommands.Rules("--allow", "Add an allow rule: " + EgressCommands.RuleHelp + "; repeatable");
        var removeAllow = EgressCommands.Rules("--remove-allow", "Remove an allow rule; repeatable");
        var deny = EgressCommands.Rules("--deny", "Add a deny rule: " + EgressCommands.RuleHelp + "; repeatable");
        var removeDeny = EgressCommands.Rules("--remove-deny", "Remove a deny rule; repeatable");
        var clearEgress = new Option<bool>("--clear-egress") { Description = "Remove the egress policy" };
        var maxFlows = MaxFlowsOption("The network's NAT flow cap (0: back to the default 16384); applies to new flows at once, with guests attached");
        var addPeer = new Option<string[]>("--vxlan-peer") { Description = "Add a remote VTEP ADDR[:PORT] (port default 4789) to the network's VXLAN tunnel, live; repeatable", HelpName = "ADDR[:PORT]" };
        var removePeer = new Option<string[]>("--remove-vxlan-peer") { Description = "Remove a remote VTEP from the network's VXLAN tunnel (MACs learnt behind it are forgotten); repeatable", HelpName = "ADDR[:PORT]" };
        var dhcpRange = DhcpRangeOption("FIRST-LAST, or 'default': the addresses for guests behind the network's tunnel; applies at once, with guests attached (leases outside it end at their next renewal; a range over endpoints' addresses is refused)");
        var format = Output.FormatOption();
        var cmd = new Command("update", "Change a network's mode, host loopback, egress policy, NAT flow cap, DHCP range or VXLAN peers")
        {
            name, mode, hostLoopback, egressDefault, allow, removeAllow, deny, removeDeny, clearEgress, maxFlows, dhcpRange, addPeer, removePeer, format,
        };
        VxlanUpdate? ReadVxlan(ParseResult r) =>
            r.GetValue(addPeer) is not { Length: > 0 } && r.GetValue(removePeer) is not { Length: > 0 } ? null
            : new VxlanUpdate
            {
                AddPeers = r.GetValue(addPeer) is { Length: > 0 } a ? a : null,
                RemovePeers = r.GetValue(removePeer) is { Length: > 0 } d ? d : null,
            };
        EgressUpdate? ReadEgress(ParseResult r)
        {
            var u = new EgressUpdate
            {
                Default = r.GetValue(egressDefault),
                AddAllow = r.GetValue(allow) is { Length: > 0 } a ? a : null,
                RemoveAllow = r.GetValue(removeAllow) is { Length: > 0 } ra ? ra : null,
                AddDeny = r.GetValue(deny) is { Length: > 0 } d ? d : null,
                RemoveDeny = r.GetValue(removeDeny) is { Length: > 0 } rd ? rd : null,
                Clear = r.GetValue(clearEgress),
            };
            return u == new EgressUpdate() ? null : u;
        }
        cmd.Validators.Add(result =>
        {
            if (result.GetValue(egressDefault) is { } d && d is not ("deny" or "allow")) result.AddError($"--egress must be deny or allow, not '{d}'");
            bool egress = result.GetValue(egressDefault) is not null || result.GetValue(clearEgress)
                || new[] { allow, removeAllow, deny, removeDeny }.Any(o => result.GetValue(o) is { Length: > 0 });
            bool other = result.GetValue(mode) is not null || result.GetValue(hostLoopback) is not null;
            bool peers = result.GetValue(addPeer) is { Length: > 0 } || result.GetValue(removePeer) is { Length: > 0 };
            if (!egress && !other && !peers && result.GetValue(maxFlows) is null && result.GetValue(dhcpRange) is null)
                result.AddError("nothing to change: give --mode, --host-loopback, --max-flows, --dhcp-range, --vxlan-peer, --remove-vxlan-peer or an egress change");
            if (egress && other) result.AddError("change the egress policy and the mode or host loopback in separate commands");
            if (peers && other) result.AddError("change the VXLAN peers and the mode or host loopback in separate commands");
        });
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var info = await client.UpdateNetworkAsync(parse.GetValue(name)!, new NetworkUpdateRequest
            {
                Mode = parse.GetValue(mode),
                HostLoopback = parse.GetValue(hostLoopback),
                Egress = ReadEgress(parse),
                MaxFlows = parse.GetValue(maxFlows),
                Vxlan = ReadVxlan(parse),
                DhcpRange = parse.GetValue(dhcpRange),
            }, ct);
            if (parse.GetValue(format) == "json") Output.Json(info, SwitchyardJsonContext.Default.NetworkInfo);
            else Console.WriteLine($"{info.Name}: mode {info.Mode}{LoopbackNote(info)}{EgressNote(info)}{(info.DhcpRange is { } range ? $", DHCP range {range}" : "")}{(info.Vxlan is { } tunnel ? $", {VxlanOptions.Note(tunnel)}" : "")}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>--dhcp-range FIRST-LAST: its shape is checked here (the subnet is the daemon's to check).</summary>
    internal static Option<string?> DhcpRangeOption(string description)
    {
        var option = new Option<string?>("--dhcp-range") { Description = description, HelpName = "FIRST-LAST" };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } v && v != "default" && v.Split('-') is not [{ Length: > 0 }, { Length: > 0 }])
                r.AddError($"--dhcp-range must be FIRST-LAST (e.g. 10.0.0.128-10.0.0.254), not '{v}'");
        });
        return option;
    }

    /// <summary>--max-flows N: checked here, so a bad value is a usage error before any daemon call.</summary>
    internal static Option<int?> MaxFlowsOption(string description)
    {
        var option = new Option<int?>("--max-flows") { Description = description, HelpName = "N" };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0 or > 1 << 20) r.AddError("--max-flows must be 0 (the default) to 1048576");
        });
        return option;
    }

    /// <summary>The egress policy in a few words, after create and update.</summary>
    private static string EgressNote(NetworkInfo info) => info.Egress is not { } e ? ""
        : e.Default == "deny" ? $", egress allowlist: {string.Join(" ", e.Allow ?? [])}{(e.Deny is { Count: > 0 } d ? $" (deny {string.Join(" ", d)})" : "")}"
        : $", egress denylist: {string.Join(" ", e.Deny ?? [])}";

    private static Command List()
    {
        var format = Output.FormatOption();
        var filter = ListOptions.Filter(ListFilter.NetworkKeys, ListOptions.NetworkFilterHelp);
        var cmd = new Command("ls", "List networks") { filter, format };
        cmd.Aliases.Add("list");
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var list = await client.ListNetworksAsync(ListOptions.Read(parse, filter, ListFilter.NetworkKeys), ct);
            if (parse.GetValue(format) == "json") { Output.Json(list, SwitchyardJsonContext.Default.ListNetworkInfo); return 0; }
            Output.Table(["NAME", "MODE", "SUBNET", "GATEWAY", "MTU", "DOMAIN", "HOST-LOOPBACK", "ENDPOINTS"],
                list.Select(n => (IReadOnlyList<string>)[n.Name, n.BridgeInterface is { } b ? $"{n.Mode}:{b}" : n.Mode == "bridged" && n.Vxlan is not null ? "bridged:vxlan" : n.Mode,
                    // A bridged network's addresses are the LAN's: its own subnet and gateway serve nobody.
                    n.Mode == "bridged" ? "-" : n.Subnet, n.Mode == "bridged" ? "-" : n.Gateway, n.Mtu.ToString(), n.Domain, n.HostLoopback ? "yes" : "no", n.Endpoints.ToString()]));
            return 0;
        }));
        return cmd;
    }

    /// <summary>What create prints after the mode: whether the gateway reaches the host's loopback
    /// (only said for modes that have a NAT, where it can be either).</summary>
    private static string LoopbackNote(NetworkInfo info) => info.Mode is "nat" or "host"
        ? (info.HostLoopback ? $", host loopback at {info.Gateway}" : ", no host loopback")
        : "";

    private static Command Inspect()
    {
        var name = new Argument<string>("NAME");
        var cmd = new Command("inspect", "Show a network as JSON (with host loopback, gateway service and NAT flow counters)") { name };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            Output.Json(await client.GetNetworkAsync(parse.GetValue(name)!, ct), SwitchyardJsonContext.Default.NetworkInfo);
            return 0;
        }));
        return cmd;
    }

    private static Command Leases()
    {
        var name = new Argument<string>("NAME");
        var format = Output.FormatOption();
        var cmd = new Command("leases", "List a network's address reservations and DHCP leases") { name, format };
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            var list = await client.ListLeasesAsync(parse.GetValue(name)!, ct);
            if (parse.GetValue(format) == "json") { Output.Json(list, SwitchyardJsonContext.Default.ListLeaseInfo); return 0; }
            // Guests behind a tunnel have no endpoint: their DNS name (or "(remote)") stands in its column.
            Output.Table(["ENDPOINT", "IPV4", "MAC", "STATE", "EXPIRES", "ATTACHED"],
                list.Select(l => (IReadOnlyList<string>)[l.Remote ? $"{l.HostName ?? "-"} (remote)" : l.Endpoint, l.Ipv4, l.Mac, l.State,
                    l.Expires?.ToLocalTime().ToString("u") ?? "-", l.Remote ? "-" : l.Attached ? "yes" : "no"]));
            return 0;
        }));
        return cmd;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("NAME");
        var cmd = new Command("rm", "Remove a network (its endpoints must be detached first)") { name };
        cmd.Aliases.Add("remove");
        cmd.SetAction((parse, ct) => Output.WithClient(parse, async client =>
        {
            await client.DeleteNetworkAsync(parse.GetValue(name)!, ct);
            return 0;
        }));
        return cmd;
    }
}
