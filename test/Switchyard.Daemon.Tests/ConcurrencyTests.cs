using System.Net;
using Switchyard.Client;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Parallel_creates_are_serialized_and_persisted()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var distinct = Enumerable.Range(0, 20).Select(i => d.Client.CreateNetworkAsync(
            new NetworkCreateRequest { Name = $"par-{i}", Subnet = $"10.100.{i}.0/24", Labels = new Dictionary<string, string> { ["i"] = $"{i}" } }, timeout.Token));
        var dupes = Enumerable.Range(0, 20).Select(i => Outcome(d.Client.CreateNetworkAsync(
            new NetworkCreateRequest { Name = "same", Subnet = $"10.101.{i}.0/24" }, timeout.Token)));

        var distinctTask = Task.WhenAll(distinct);
        var dupeTask = Task.WhenAll(dupes);
        await Task.WhenAll(distinctTask, dupeTask);

        var created = await distinctTask;
        Assert.Equal(20, created.Select(n => n.Name).Distinct().Count());
        var outcomes = await dupeTask;
        var winner = Assert.Single(outcomes, o => o.Network is not null).Network!;
        Assert.All(outcomes.Where(o => o.Network is null), o => Assert.Equal(HttpStatusCode.Conflict, o.Status));

        await d.RestartAsync();
        var after = await d.Client.ListNetworksAsync();
        Assert.Equal(22, after.Count); // default + 20 + "same"
        foreach (var n in created)
        {
            var m = after.Single(x => x.Name == n.Name);
            Assert.Equal(n.Subnet, m.Subnet);
            Assert.Equal(n.Labels["i"], m.Labels["i"]);
        }
        Assert.Equal(winner.Subnet, after.Single(x => x.Name == "same").Subnet);
        Assert.Equal(22, (await d.Client.GetHealthAsync()).Networks);
    }

    [Fact]
    public async Task Parallel_creates_of_one_subnet_admit_one()
    {
        await using var d = new ApiDaemon();
        await d.StartAsync();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Outcome(d.Client.CreateNetworkAsync(
            new NetworkCreateRequest { Name = $"sub-{i}", Subnet = "10.102.0.0/24" }))));
        Assert.Single(outcomes, o => o.Network is not null);
        Assert.All(outcomes.Where(o => o.Network is null), o => Assert.Equal(HttpStatusCode.Conflict, o.Status));
    }

    private static async Task<(NetworkInfo? Network, HttpStatusCode? Status)> Outcome(Task<NetworkInfo> call)
    {
        try { return (await call, null); }
        catch (SwitchyardApiException e) { return (null, e.StatusCode); }
    }
}
