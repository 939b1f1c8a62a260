using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

public sealed class LeaseTests
{
    [LinuxRootFact]
    public async Task Udhcpc_gets_a_lease_with_router_dns_domain_and_mtu_and_renews_to_the_same_address()
    {
        await using var lan = await Lan.StartAsync(mtu: 9000);
        var env = lan.LeaseA;
        var subnetPrefix = lan.Net.Subnet[..lan.Net.Subnet.LastIndexOf('.')] + ".";
        Assert.StartsWith(subnetPrefix, env["ip"]);
        Assert.Equal(lan.A.Endpoint.Ipv4, env["ip"]);
        Assert.Equal("255.255.255.0", env["subnet"]);
        Assert.Equal(lan.Net.Gateway, env["router"].Trim());
        Assert.Equal(lan.Net.Gateway, env["dns"].Trim());
        Assert.Equal($"{lan.Net.Name}.internal", env.TryGetValue("search", out var s) && s.Length > 0 ? s.Trim() : env["domain"].Trim());
        Assert.Equal($"{lan.Net.Name}.internal", env["domain"].Trim());
        Assert.Equal("9000", env["mtu"]);
        Assert.Contains("mtu 9000", lan.A.Namespace.Ip("link", "show", "eth0").StdOut);

        var leases = await lan.Client.ListLeasesAsync(lan.Net.Name);
        var lease = Assert.Single(leases, l => l.Endpoint == "alpha");
        Assert.Equal("bound", lease.State);
        Assert.Equal(env["ip"], lease.Ipv4);
        Assert.Equal(lan.A.Endpoint.Mac, lease.Mac);
        Assert.True(lease.Attached);

        var again = lan.A.Dhcp();
        Assert.Equal(env["ip"], again["ip"]);
        Assert.Equal("bound", (await lan.Client.ListLeasesAsync(lan.Net.Name)).Single(l => l.Endpoint == "alpha").State);
    }

    [LinuxRootFact]
    public async Task No_mtu_option_on_a_1500_network()
    {
        await using var lan = await Lan.StartAsync();
        Assert.False(lan.LeaseA.TryGetValue("mtu", out var mtu) && mtu.Length > 0 && mtu != "1500", $"unexpected mtu {mtu}");
    }

    [LinuxRootFact]
    public async Task A_pinned_address_is_exactly_what_dhcp_hands_out()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"]);
        string pinned = net.Subnet[..net.Subnet.LastIndexOf('.')] + ".123";
        using var guest = await Guest.AttachAsync(daemon.Client, net.Name, "pinned", ip: pinned);
        Assert.Equal(pinned, guest.Endpoint.Ipv4);
        var env = guest.Dhcp();
        Assert.Equal(pinned, env["ip"]);
        var lease = (await daemon.Client.ListLeasesAsync(net.Name)).Single(l => l.Endpoint == "pinned");
        Assert.Equal(pinned, lease.Ipv4);
        Assert.Equal("bound", lease.State);
    }
}
