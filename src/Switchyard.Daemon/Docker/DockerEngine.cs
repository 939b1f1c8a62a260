using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Switchyard.Daemon.Docker;

/// <summary>What the driver asks dockerd itself: a network's name by its ID. libnetwork's
/// CreateNetwork carries only the ID (remote.md), and dockerd stores the network, name and all,
/// only after the driver has answered; its Engine API (<c>GET /networks/{id}</c>) then knows it.</summary>
internal interface IDockerEngine
{
    /// <summary>The network's name; null while dockerd does not know the ID (yet).</summary>
    /// <exception cref="DockerEngineUnavailableException">dockerd cannot be reached or answered oddly.</exception>
    Task<string?> NetworkNameAsync(string networkId, CancellationToken cancel);
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

    public async Task<string?> NetworkNameAsync(string networkId, CancellationToken cancel)
    {
        HttpResponseMessage response;
        try { response = await _http.GetAsync($"networks/{Uri.EscapeDataString(networkId)}", cancel).ConfigureAwait(false); }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or TaskCanceledException && !cancel.IsCancellationRequested)
        {
            throw new DockerEngineUnavailableException($"cannot reach dockerd on {_socket}: {e.Message}", e);
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if (!response.IsSuccessStatusCode) throw new DockerEngineUnavailableException($"dockerd on {_socket} answered {(int)response.StatusCode} for network {networkId}");
            try
            {
                var body = await response.Content.ReadAsStringAsync(cancel).ConfigureAwait(false);
                return JsonSerializer.Deserialize(body, DockerJsonContext.Default.EngineNetwork)?.Name;
            }
            catch (JsonException e) { throw new DockerEngineUnavailableException($"dockerd on {_socket} sent a network that is not JSON: {e.Message}", e); }
        }
    }

    public void Dispose() => _http.Dispose();
}
