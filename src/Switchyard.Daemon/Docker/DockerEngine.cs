using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Switchyard.Daemon.Docker;

/// <summary>What the driver asks dockerd itself: a network's name by its ID, and after a restart
/// the running containers' sandboxes. libnetwork's
/// CreateNetwork carries only the ID (remote.md), and dockerd stores the network, name and all,
/// only after the driver has answered; its Engine API (<c>GET /networks/{id}</c>) then knows it.</summary>
internal interface IDockerEngine
{
    /// <summary>The network's name; null while dockerd does not know the ID (yet).</summary>
    /// <exception cref="DockerEngineUnavailableException">dockerd cannot be reached or answered oddly.</exception>
    Task<string?> NetworkNameAsync(string networkId, CancellationToken cancel);

    /// <summary>The endpoints of the network that are in running containers, with their sandboxes.</summary>
    /// <exception cref="DockerEngineUnavailableException">dockerd cannot be reached or answered oddly.</exception>
    Task<IReadOnlyList<JoinedEndpoint>> JoinedAsync(string networkId, CancellationToken cancel);
}

internal sealed class DockerEngineUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The Engine API over dockerd's unix socket (<c>--docker-host</c>).</summary>
internal sealed class DockerEngine : IDockerEngine, IDisposable
{
    private readonly HttpClient _http;
    private readonly string _socket;

    public DockerEngine(string socketPath)
    {
        _socket = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(_socket), cancel).ConfigureAwait(false);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        // The host name is a placeholder: the connection is the unix socket.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/"), Timeout = TimeSpan.FromSeconds(5) };
    }

    public async Task<string?> NetworkNameAsync(string networkId, CancellationToken cancel) =>
        (await GetAsync($"networks/{Uri.EscapeDataString(networkId)}", DockerJsonContext.Default.EngineNetwork, cancel).ConfigureAwait(false))?.Name;

    public async Task<IReadOnlyList<JoinedEndpoint>> JoinedAsync(string networkId, CancellationToken cancel)
    {
        var network = await GetAsync($"networks/{Uri.EscapeDataString(networkId)}", DockerJsonContext.Default.EngineNetwork, cancel).ConfigureAwait(false);
        var joined = new List<JoinedEndpoint>();
        foreach (var (containerId, c) in network?.Containers ?? [])
        {
            var container = await GetAsync($"containers/{Uri.EscapeDataString(containerId)}/json", DockerJsonContext.Default.EngineContainer, cancel).ConfigureAwait(false);
            if (c.EndpointID is { } endpoint && container is { State.Running: true, NetworkSettings.SandboxKey: { Length: > 0 } sandbox })
                joined.Add(new JoinedEndpoint(endpoint, sandbox, container.NetworkSettings.Networks?.Count ?? 1));
        }
        return joined;
    }

    /// <summary>An Engine API object; null when dockerd does not know it (404).</summary>
    private async Task<T?> GetAsync<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancel) where T : class
    {
        HttpResponseMessage response;
        try { response = await _http.GetAsync(path, cancel).ConfigureAwait(false); }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or TaskCanceledException && !cancel.IsCancellationRequested)
        {
            throw new DockerEngineUnavailableException($"cannot reach dockerd on {_socket}: {e.Message}", e);
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if (!response.IsSuccessStatusCode) throw new DockerEngineUnavailableException($"dockerd on {_socket} answered {(int)response.StatusCode} for {path}");
            try
            {
                var body = await response.Content.ReadAsStringAsync(cancel).ConfigureAwait(false);
                return JsonSerializer.Deserialize(body, type);
            }
            catch (JsonException e) { throw new DockerEngineUnavailableException($"dockerd on {_socket} sent {path} as something other than JSON: {e.Message}", e); }
        }
    }

    public void Dispose() => _http.Dispose();
}
