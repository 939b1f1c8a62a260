using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>Egress policies through the API: validation, edits, persistence and the audit log routes
/// (the enforcement itself is proven with real guests in the integration tests).</summary>
public sealed class EgressApiTests
{
    private static EgressPolicySpec AllowList(params string[] allow) => new() { Default = "deny", Allow = allow };

    [Fact]
    public async Task A_policy_is_kept_in_canonical_form_edited_live_and_survives_a_restart()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        var n = await d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = "eg-keep", Subnet = "10.247.1.0/24", Egress = AllowList("Allowed.Example.", "*.wild.example", "10.1.2.3:443/TCP"),
        });
        Assert.Equal("deny", n.Egress!.Default);
        Assert.Equal(["allowed.example", "*.wild.example", "10.1.2.3/32:443/tcp"], n.Egress.Allow);

        n = await d.Client.UpdateNetworkAsync("eg-keep", new NetworkUpdateRequest
        {
            Egress = new EgressUpdate { AddAllow = ["more.example"], RemoveAllow = ["*.WILD.example"], AddDeny = ["192.0.2.0/24"] },
        });
        Assert.Equal(["allowed.example", "10.1.2.3/32:443/tcp", "more.example"], n.Egress!.Allow);
        Assert.Equal(["192.0.2.0/24"], n.Egress.Deny);

        await d.RestartAsync();
        var after = await d.Client.GetNetworkAsync("eg-keep");
        Assert.Equal(n.Egress.Allow, after.Egress!.Allow);
        Assert.Equal(n.Egress.Deny, after.Egress.Deny);

        after = await d.Client.UpdateNetworkAsync("eg-keep", new NetworkUpdateRequest { Egress = new EgressUpdate { Clear = true } });
        Assert.Null(after.Egress);
        await d.RestartAsync();
        Assert.Null((await d.Client.GetNetworkAsync("eg-keep")).Egress);
    }

    [Theory]
    [InlineData("deny", "exa mple.com", "invalid egress rule")]
    [InlineData("deny", "10.0.0.1/8", "not a CIDR network")]
    [InlineData("maybe", "allowed.example", "unknown egress default 'maybe'")]
    public async Task A_bad_policy_is_400_and_nothing_is_created(string @default, string rule, string message)
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = "eg-bad", Subnet = "10.247.2.0/24", Egress = new EgressPolicySpec { Default = @default, Allow = [rule] },
        }));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain(await d.Client.ListNetworksAsync(), x => x.Name == "eg-bad");
    }

    [Fact]
    public async Task Only_a_nat_network_takes_a_policy_and_a_bad_edit_changes_nothing()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        var e = await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.CreateNetworkAsync(new NetworkCreateRequest
        {
            Name = "eg-int", Mode = "internal", Subnet = "10.247.3.0/24", Egress = AllowList("a.example"),
        }));
        Assert.Contains("apply to nat networks", e.Message);

        await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "eg-edit", Subnet = "10.247.4.0/24", Egress = AllowList("a.example") });
        e = await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync("eg-edit",
            new NetworkUpdateRequest { Egress = new EgressUpdate { AddAllow = ["b.example"], RemoveAllow = ["not-there.example"] } }));
        Assert.Contains("not on the allow list", e.Message);
        Assert.Equal(["a.example"], (await d.Client.GetNetworkAsync("eg-edit")).Egress!.Allow);

        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync("eg-edit",
            new NetworkUpdateRequest { Mode = "internal", Egress = new EgressUpdate { Clear = true } }));
        e = await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.UpdateNetworkAsync("eg-edit", new NetworkUpdateRequest { Mode = "internal" }));
        Assert.Contains("clear it first", e.Message);
    }

    [Fact]
    public async Task The_log_routes_answer_for_known_networks_only()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        await d.Client.CreateNetworkAsync(new NetworkCreateRequest { Name = "eg-log", Subnet = "10.247.5.0/24", Egress = AllowList("a.example") });
        Assert.Empty(await d.Client.GetEgressLogAsync("eg-log"));
        await Problems.Expect(HttpStatusCode.NotFound, () => d.Client.GetEgressLogAsync("no-such-net"));
        await Problems.Expect(HttpStatusCode.BadRequest, () => d.Client.GetEgressLogAsync("eg-log", limit: 0));
        var follow = async () => { await foreach (var _ in d.Client.FollowEgressAsync("no-such-net")) { } };
        await Problems.Expect(HttpStatusCode.NotFound, follow);
    }
}
