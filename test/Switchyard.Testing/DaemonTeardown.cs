using Switchyard.Client;

namespace Switchyard.Testing;

/// <summary>What every test daemon does before it stops: detach every endpoint, so the TAPs,
/// namespaces' interfaces and sockets it made go away with it, whatever state the test left.</summary>
public static class DaemonTeardown
{
    public static async Task DetachAllAsync(SwitchyardClient client)
    {
        try
        {
            foreach (var ep in await client.ListEndpointsAsync())
            {
                try { await client.DetachEndpointAsync(ep.Network, ep.Name); } catch (SwitchyardApiException) { }
            }
        }
        catch (Exception e) when (e is SwitchyardApiException or SwitchyardUnavailableException or HttpRequestException) { }
    }
}
