using Switchyard.Client;

namespace Switchyard.Cni;

/// <summary>The ADD result (CNI spec 1.0, "Success") for an attached endpoint: its interface in the
/// container's namespace, its addresses with the gateway, the default route when the endpoint has
/// it, and the network's DNS (the gateway answers, the network's domain is searched).</summary>
internal static class ResultBuilder
{
    public static CniResult Build(string version, NetworkInfo net, EndpointInfo ep, string netns, string ifname)
    {
        bool v0 = CniVersions.HasIpVersionField(version);
        int prefix = int.Parse(net.Subnet[(net.Subnet.IndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var ips = new List<CniIp>
        {
            new() { Version = v0 ? "4" : null, Address = $"{ep.Ipv4}/{prefix}", Gateway = net.Gateway, Interface = 0 },
        };
        // The SLAAC address (EUI-64 in the network's /64); the link-local one is not a result address.
        foreach (var v6 in ep.Ipv6 ?? [])
        {
            if (v6.StartsWith("fe80:", StringComparison.OrdinalIgnoreCase)) continue;
            ips.Add(new CniIp { Version = v0 ? "6" : null, Address = $"{v6}/64", Gateway = net.Ipv6GatewayLinkLocal ?? net.Ipv6Gateway, Interface = 0 });
        }
        var routes = ep.DefaultRoute ? new List<CniRoute> { new() { Dst = "0.0.0.0/0", Gw = net.Gateway } } : [];
        return new CniResult
        {
            CniVersion = version,
            Interfaces = [new CniInterface { Name = ifname, Mac = ep.Mac, Mtu = CniVersions.AtLeast(version, "1.1.0") ? net.Mtu : null, Sandbox = netns }],
            Ips = ips,
            Routes = routes,
            Dns = new CniDns { Nameservers = [net.Gateway], Domain = net.Domain, Search = [net.Domain] },
        };
    }
}
