using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Serialization.Metadata;

namespace Switchyard.Client;

/// <summary>The .NET client of the daemon's HTTP/JSON API on its unix socket. Thread-safe; one
/// instance per process is enough.</summary>
public sealed class SwitchyardClient : IDisposable
{
    private static readonly SwitchyardJsonContext Json = SwitchyardJsonContext.Default;
    private readonly HttpClient _http;

    public SwitchyardClient(string? socketPath = null)
    {
        SocketPath = socketPath ?? SocketPaths.Default();
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        // The host name is never resolved: every request goes to the unix socket.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://switchyard/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string SocketPath { get; }

    public Task<VersionInfo> GetVersionAsync(CancellationToken ct = default) => GetAsync("version", Json.VersionInfo, ct);
    public Task<HealthInfo> GetHealthAsync(CancellationToken ct = default) => GetAsync("health", Json.HealthInfo, ct);

    public Task<List<NetworkInfo>> ListNetworksAsync(CancellationToken ct = default) => GetAsync("networks", Json.ListNetworkInfo, ct);
    public Task<NetworkInfo> GetNetworkAsync(string name, CancellationToken ct = default) => GetAsync($"networks/{Esc(name)}", Json.NetworkInfo, ct);
    public Task<NetworkInfo> CreateNetworkAsync(NetworkCreateRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "networks", JsonContent.Create(request, Json.NetworkCreateRequest), Json.NetworkInfo, ct);
    /// <summary>Changes a network's mode or host loopback; a mode change is refused (409) while endpoints are attached.</summary>
    public Task<NetworkInfo> UpdateNetworkAsync(string name, NetworkUpdateRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Patch, $"networks/{Esc(name)}", JsonContent.Create(request, Json.NetworkUpdateRequest), Json.NetworkInfo, ct);
    public Task DeleteNetworkAsync(string name, CancellationToken ct = default) => SendAsync(HttpMethod.Delete, $"networks/{Esc(name)}", null, ct);
    /// <summary>The networks that pass <paramref name="filter"/> (label, mode, name; see <see cref="ListFilter"/>).</summary>
    public Task<List<NetworkInfo>> ListNetworksAsync(ListFilter? filter, CancellationToken ct = default) =>
        GetAsync("networks" + (filter?.ToQuery() ?? ""), Json.ListNetworkInfo, ct);
    /// <summary>Removes every network without endpoints that passes <paramref name="filter"/>, except <c>default</c>.</summary>
    public Task<NetworkPruneResult> PruneNetworksAsync(ListFilter? filter = null, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "networks/prune" + (filter?.ToQuery() ?? ""), null, Json.NetworkPruneResult, ct);

    /// <summary>All endpoints, or one network's.</summary>
    public Task<List<EndpointInfo>> ListEndpointsAsync(string? network = null, CancellationToken ct = default) =>
        GetAsync(network is null ? "endpoints" : $"networks/{Esc(network)}/endpoints", Json.ListEndpointInfo, ct);
    /// <summary>All endpoints, or one network's, that pass <paramref name="filter"/> (label, name, network; see <see cref="ListFilter"/>).</summary>
    public Task<List<EndpointInfo>> ListEndpointsAsync(string? network, ListFilter? filter, CancellationToken ct = default) =>
        GetAsync((network is null ? "endpoints" : $"networks/{Esc(network)}/endpoints") + (filter?.ToQuery() ?? ""), Json.ListEndpointInfo, ct);
    public Task<EndpointInfo> GetEndpointAsync(string network, string name, CancellationToken ct = default) =>
        GetAsync($"networks/{Esc(network)}/endpoints/{Esc(name)}", Json.EndpointInfo, ct);
    public Task<EndpointInfo> AttachEndpointAsync(string network, EndpointAttachRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"networks/{Esc(network)}/endpoints", JsonContent.Create(request, Json.EndpointAttachRequest), Json.EndpointInfo, ct);
    public Task DetachEndpointAsync(string network, string name, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"networks/{Esc(network)}/endpoints/{Esc(name)}", null, ct);

    /// <summary>Publishes a host port to an endpoint (<c>[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]</c>);
    /// returns the endpoint with its published ports. 409 when the host port is taken.</summary>
    public Task<EndpointInfo> PublishAsync(string network, string name, string spec, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"networks/{Esc(network)}/endpoints/{Esc(name)}/published",
            JsonContent.Create(new PublishRequest { Spec = spec }, Json.PublishRequest), Json.EndpointInfo, ct);

    /// <summary>Stops publishing a port (any spelling of a published spec: <c>8080:80</c> is
    /// <c>127.0.0.1:8080:80/tcp</c>). 404 when it is not published.</summary>
    public Task UnpublishAsync(string network, string name, string spec, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"networks/{Esc(network)}/endpoints/{Esc(name)}/published/{Esc(spec)}", null, ct);

    /// <summary>Publishes a host port to a remote guest of a gateway network (one with no endpoint
    /// here: behind a VXLAN tunnel), named by <paramref name="to"/>: its DHCP host name, leased IPv4
    /// address or MAC; returns the network with its published ports. 404 for a guest without a lease,
    /// 409 when the host port is taken, 400 for a network without a NAT.</summary>
    public Task<NetworkInfo> PublishToRemoteAsync(string network, string to, string spec, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"networks/{Esc(network)}/published",
            JsonContent.Create(new NetworkPublishRequest { Spec = spec, To = to }, Json.NetworkPublishRequest), Json.NetworkInfo, ct);

    /// <summary>Stops publishing a port to a remote guest (any spelling of the spec). 404 when it is not published.</summary>
    public Task UnpublishRemoteAsync(string network, string spec, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"networks/{Esc(network)}/published/{Esc(spec)}", null, ct);

    /// <summary>The host's interfaces as the daemon sees them, and whether a network can bridge to each.</summary>
    public Task<List<HostInterfaceInfo>> ListInterfacesAsync(CancellationToken ct = default) => GetAsync("interfaces", Json.ListHostInterfaceInfo, ct);

    /// <summary>The newest egress decisions of a network from its audit log, oldest first.</summary>
    public Task<List<EgressEvent>> GetEgressLogAsync(string network, int limit = 100, CancellationToken ct = default) =>
        GetAsync($"networks/{Esc(network)}/egress/log?limit={limit}", Json.ListEgressEvent, ct);

    /// <summary>Egress decisions of a network as they happen (the API's server-sent events), until
    /// <paramref name="ct"/> is cancelled or the daemon stops.</summary>
    public async IAsyncEnumerable<EgressEvent> FollowEgressAsync(string network, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        using var response = await SendRawAsync(HttpMethod.Get, $"networks/{Esc(network)}/egress/events", null, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
        // text/event-stream: "data: JSON" lines, an empty line after each event; ": ..." lines are comments (keep-alives).
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var e = System.Text.Json.JsonSerializer.Deserialize(line.AsSpan(6), JsonLinesContext.Default.EgressEvent);
            if (e is not null) yield return e;
        }
    }

    public Task<List<LeaseInfo>> ListLeasesAsync(string network, CancellationToken ct = default) =>
        GetAsync($"networks/{Esc(network)}/leases", Json.ListLeaseInfo, ct);

    /// <summary>The network's NAT flows (up to <paramref name="limit"/>, the daemon's default 500,
    /// at most 10000); empty for a network without NAT.</summary>
    public Task<List<FlowInfo>> ListFlowsAsync(string network, int? limit = null, CancellationToken ct = default) =>
        GetAsync($"networks/{Esc(network)}/flows" + (limit is { } n ? $"?limit={n}" : ""), Json.ListFlowInfo, ct);

    /// <summary>The fd handoff: asks the daemon for an endpoint whose transport is a socket pair
    /// and returns this process's end of it, ready to hand to a VM process (QEMU <c>-netdev
    /// dgram,local.type=fd</c> or <c>-netdev stream,addr.type=fd</c>, vfkit, Virtualization.framework).
    /// The endpoint goes away when the VM closes its end.</summary>
    public async Task<FdAttachment> AttachFdAsync(string network, string name, bool stream = false, string? mac = null, string? ip = null,
        CancellationToken ct = default)
    {
        var request = new FdHandoffRequest { Network = network, Endpoint = name, SocketType = stream ? "stream" : "dgram", Mac = mac, Ip = ip };
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), ct).ConfigureAwait(false); }
        catch (SocketException e) { throw new SwitchyardUnavailableException(SocketPath, e); }
        var line = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, JsonLinesContext.Default.FdHandoffRequest);
        await socket.SendAsync(line.Append((byte)'\n').ToArray(), SocketFlags.None, ct).ConfigureAwait(false);

        // The descriptor arrives with the reply's first bytes; the rest of the line may follow.
        var reply = new List<byte>();
        System.Runtime.InteropServices.SafeHandle? fd = null;
        var buffer = new byte[16384];
        while (!reply.Contains((byte)'\n'))
        {
            int n = await Task.Run(() =>
            {
                int got = FdReceiver.Receive(socket, buffer, out var received);
                if (received is not null) { fd?.Dispose(); fd = received; }
                return got;
            }, ct).ConfigureAwait(false);
            if (n == 0) break;
            reply.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        int end = reply.IndexOf((byte)'\n');
        var answer = end < 0 ? null : System.Text.Json.JsonSerializer.Deserialize(reply.GetRange(0, end).ToArray(), JsonLinesContext.Default.FdHandoffReply);
        if (answer is not { Ok: true, Endpoint: { } info } || fd is null)
        {
            fd?.Dispose();
            throw new SwitchyardApiException((HttpStatusCode)(answer?.Status ?? 500),
                new ProblemInfo { Status = answer?.Status, Detail = answer?.Error }, "the daemon closed the handoff without a socket");
        }
        return new FdAttachment(info, fd);
    }

    private static string Esc(string segment) => Uri.EscapeDataString(segment);

    private Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, type, ct);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await SendRawAsync(method, path, content, ct).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync(type, ct).ConfigureAwait(false))!;
    }

    private async Task SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var response = await SendRawAsync(method, path, content, ct).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try { response = await _http.SendAsync(request, completion, ct).ConfigureAwait(false); }
        catch (HttpRequestException e) when (e.InnerException is SocketException || e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            throw new SwitchyardUnavailableException(SocketPath, e.InnerException ?? e);
        }
        if (response.IsSuccessStatusCode) return response;
        ProblemInfo? problem = null;
        try { problem = await response.Content.ReadFromJsonAsync(Json.ProblemInfo, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException) { }
        var status = response.StatusCode;
        response.Dispose();
        throw new SwitchyardApiException(status, problem, $"{method} /{path} failed: {(int)status} {status}");
    }

    public void Dispose() => _http.Dispose();
}
