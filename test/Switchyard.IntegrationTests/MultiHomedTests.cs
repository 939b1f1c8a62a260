using System.Net;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>
/// One guest on several networks (issue 6): its namespace gets eth0, eth1, ... in attach order; exactly one of its
/// networks gives it a default route (the first, unless another attach says --default-route); each network's DNS
/// answers for that network's endpoints, aliases included.
/// </summary>
public sealed class MultiHomedTests
{
    [LinuxRootFact]
    public async Task A_namespace_on_two_networks_gets_eth0_and_eth1_and_one_default_route()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var red = await daemon.CreateNetworkAsync(["none"], prefix: "red", customize: r => r with { Mode = "internal" });
        var blue = await daemon.CreateNetworkAsync(["none"], prefix: "blue", customize: r => r with { Mode = "internal" });
        using var both = await Guest.AttachAsync(daemon.Client, red.Name, "both");
        var onBlue = await both.AttachAlsoAsync(blue.Name, "both", r => r with { Aliases = ["db", "cache"] });
        Assert.Equal("eth0", both.Endpoint.Transport.Ifname);
        Assert.Equal("eth1", onBlue.Transport.Ifname);
        Assert.True(both.Endpoint.DefaultRoute);
        Assert.False(onBlue.DefaultRoute);
        Assert.Equal(["db", "cache"], onBlue.Aliases);

        var redLease = both.Dhcp("eth0");
        var blueLease = both.Dhcp("eth1");
        Assert.Equal(red.Gateway, redLease["router"]);
        Assert.False(blueLease.ContainsKey("router"), "the second network must not give a default route");
        var routes = both.Exec("ip", "-4", "route", "show", "default").StdOut.Trim();
        Assert.Single(routes.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("dev eth0", routes);

        // A peer on each network resolves the guest (and its aliases) through its own network's DNS.
        using var redPeer = await Guest.AttachAsync(daemon.Client, red.Name, "redpeer");
        using var bluePeer = await Guest.AttachAsync(daemon.Client, blue.Name, "bluepeer");
        redPeer.Dhcp();
        bluePeer.Dhcp();
        Assert.Equal(redLease["ip"], redPeer.Dig($"@{red.Gateway}", $"both.{red.Domain}", "+short"));
        Assert.Equal(blueLease["ip"], bluePeer.Dig($"@{blue.Gateway}", $"both.{blue.Domain}", "+short"));
        Assert.Equal(blueLease["ip"], bluePeer.Dig($"@{blue.Gateway}", $"db.{blue.Domain}", "+short"));
        Assert.Equal(blueLease["ip"], bluePeer.Dig($"@{blue.Gateway}", "cache", "+short"));
        Assert.Contains("status: NXDOMAIN", redPeer.Dig($"@{red.Gateway}", $"db.{red.Domain}"));
        Assert.True(redPeer.Ping(redLease["ip"]) && bluePeer.Ping(blueLease["ip"]), "the guest answers on both links");
    }

    [LinuxRootFact]
    public async Task Default_route_on_a_later_attach_takes_it_from_the_first_and_survives_a_restart()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var first = await daemon.CreateNetworkAsync(["none"], prefix: "one", customize: r => r with { Mode = "internal" });
        var second = await daemon.CreateNetworkAsync(["none"], prefix: "two", customize: r => r with { Mode = "internal" });
        using var guest = await Guest.AttachAsync(daemon.Client, first.Name, "g");
        var later = await guest.AttachAlsoAsync(second.Name, "g", r => r with { DefaultRoute = true });
        Assert.True(later.DefaultRoute);
        Assert.False((await guest.RefreshAsync()).DefaultRoute);

        await daemon.RestartAsync();
        Assert.False((await daemon.Client.GetEndpointAsync(first.Name, "g")).DefaultRoute);
        Assert.True((await daemon.Client.GetEndpointAsync(second.Name, "g")).DefaultRoute);
        Assert.False(guest.Dhcp("eth0").ContainsKey("router"));
        Assert.Equal(second.Gateway, guest.Dhcp("eth1")["router"]);
    }

    [LinuxRootFact]
    public async Task Aliases_that_clash_or_are_not_labels_are_refused_and_nothing_is_attached()
    {
        await using var daemon = await TestDaemon.StartAsync();
        var net = await daemon.CreateNetworkAsync(["none"], prefix: "als", customize: r => r with { Mode = "internal" });
        using var web = await Guest.AttachAsync(daemon.Client, net.Name, "web", customize: r => r with { Aliases = ["www"] });

        async Task Refused(string name, string[] aliases, HttpStatusCode status, string message)
        {
            using var ns = TestNamespace.Create("sy-als");
            var e = await Assert.ThrowsAsync<SwitchyardApiException>(() => daemon.Client.AttachEndpointAsync(net.Name, new EndpointAttachRequest
            {
                Name = name,
                Aliases = aliases,
                Transport = new TransportSpec { Kind = "tap", Netns = ns.Name },
            }));
            Assert.Equal(status, e.StatusCode);
            Assert.Contains(message, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.DoesNotContain(await daemon.Client.ListEndpointsAsync(net.Name), x => x.Name == name);
        }

        await Refused("api", ["www"], HttpStatusCode.Conflict, "already taken by endpoint 'web'");
        await Refused("api", ["web"], HttpStatusCode.Conflict, "already taken by endpoint 'web'");
        await Refused("www", [], HttpStatusCode.Conflict, "is an alias of endpoint 'web'");
        await Refused("api", ["Bad_Name"], HttpStatusCode.BadRequest, "invalid alias name");
        await Refused("api", ["gateway"], HttpStatusCode.BadRequest, "reserved");
        await Refused("api", ["x", "x"], HttpStatusCode.BadRequest, "given twice");
    }
}
