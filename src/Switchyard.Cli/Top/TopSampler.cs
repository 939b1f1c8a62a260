using System.Net;
using Switchyard.Client;

namespace Switchyard.Cli.Top;

/// <summary>Takes <see cref="TopSample"/>s from the daemon's API: the networks (one, or all), their
/// endpoints with counters, and each network's newest egress decisions.</summary>
internal sealed class TopSampler
{
    /// <summary>How many of a network's newest egress decisions each sample carries.</summary>
    public const int EgressLimit = 10;

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
        var egress = await Task.WhenAll(networks.Select(n => EgressAsync(n.Name, ct)));
        var samples = new List<NetworkSample>(networks.Count);
        for (int i = 0; i < networks.Count; i++)
        {
            // A network removed since the list was read: left out of this sample (when it was the
            // one named, the next sample reports the 404).
            if (egress[i] is not { } log) continue;
            samples.Add(new NetworkSample(networks[i], [.. byNetwork[networks[i].Name].OrderBy(e => e.Name, StringComparer.Ordinal)], log));
        }
        return new TopSample(now, clock, samples);
    }

    private async Task<IReadOnlyList<EgressEvent>?> EgressAsync(string network, CancellationToken ct)
    {
        try { return await _client.GetEgressLogAsync(network, EgressLimit, ct); }
        catch (SwitchyardApiException e) when (e.StatusCode == HttpStatusCode.NotFound) { return null; }
    }
}
