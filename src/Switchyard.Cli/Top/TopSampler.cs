using System.Net;
using Switchyard.Client;

namespace Switchyard.Cli.Top;

/// <summary>Takes <see cref="TopSample"/>s from the daemon's API: the networks (one, or all), their
/// endpoints with counters, each network's NAT flows and newest egress decisions.</summary>
internal sealed class TopSampler
{
    /// <summary>How many of a network's newest egress decisions each sample carries.</summary>
    public const int EgressLimit = 10;
    /// <summary>How many NAT flows each network's sample asks for: enough to find the busiest, few
    /// enough that a NAT with tens of thousands of flows costs a refresh little.</summary>
    public const int FlowLimit = 2000;

    private readonly SwitchyardClient _client;
    private readonly string? _network;
    private readonly TimeProvider _time;
    private readonly long _start;

    /// <param name="network">Only this network; null: all of them.</param>
    public TopSampler(SwitchyardClient client, string? network, TimeProvider time)
    {
        _client = client;
        _network = network;
        _time = time;
        _start = time.GetTimestamp();
    }

    /// <summary>One sample. An unknown network (when one was named) is the API's 404, as a
    /// <see cref="SwitchyardApiException"/>.</summary>
    public async Task<TopSample> SampleAsync(CancellationToken ct)
    {
        List<NetworkInfo> networks = _network is null ? await _client.ListNetworksAsync(ct) : [await _client.GetNetworkAsync(_network, ct)];
        var endpoints = await _client.ListEndpointsAsync(_network, ct);
        // The counters' moment: rates divide by the time between two of these.
        var clock = _time.GetElapsedTime(_start);
        var now = _time.GetUtcNow();
        var byNetwork = endpoints.ToLookup(e => e.Network, StringComparer.Ordinal);
        var egress = Task.WhenAll(networks.Select(n => OrNullWhenGone(_client.GetEgressLogAsync(n.Name, EgressLimit, ct))));
        var flows = Task.WhenAll(networks.Select(n => n.Nat is null
            ? Task.FromResult<List<FlowInfo>?>([])
            : OrNullWhenGone(_client.ListFlowsAsync(n.Name, FlowLimit, ct))));
        await Task.WhenAll(egress, flows);
        var samples = new List<NetworkSample>(networks.Count);
        for (int i = 0; i < networks.Count; i++)
        {
            // A network removed since the list was read: left out of this sample (when it was the
            // one named, the next sample reports the 404).
            if (egress.Result[i] is not { } log || flows.Result[i] is not { } nat) continue;
            samples.Add(new NetworkSample(networks[i], [.. byNetwork[networks[i].Name].OrderBy(e => e.Name, StringComparer.Ordinal)], log, nat));
        }
        return new TopSample(now, clock, samples);
    }

    private static async Task<List<T>?> OrNullWhenGone<T>(Task<List<T>> call)
    {
        try { return await call; }
        catch (SwitchyardApiException e) when (e.StatusCode == HttpStatusCode.NotFound) { return null; }
    }
}
