using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Switchyard.Daemon.Docker;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests.Docker;

/// <summary>The plugin socket as dockerd's plugin client (pkg/plugins) sees it: the handshake, the capabilities,
/// every refusal as <c>{"Err": "..."}</c> with a non-200 status, and nothing of the API on it (nor the driver on
/// the API socket).</summary>
public sealed class PluginSocketTests : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-plugin-");
    private WebApplication? _app;
    private HttpClient _plugin = null!;
    private HttpClient _api = null!;

    private string PluginSocket => Path.Combine(_dir.FullName, "sy-unit.sock");

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "resolv.conf"), "");
        _app = DaemonHost.Build(new DaemonOptions
        {
            StateDirectory = Path.Combine(_dir.FullName, "state"), SocketPath = Path.Combine(_dir.FullName, "yard.sock"),
            ResolvConfPath = Path.Combine(_dir.FullName, "resolv.conf"),
            // No dockerd there: names fall back to docker-ID12 at once.
            DockerPlugin = new DockerPluginOptions { SocketPath = PluginSocket, DockerHost = "unix://" + Path.Combine(_dir.FullName, "none.sock") },
        });
        await _app.StartAsync();
        _plugin = ApiDaemon.CreateRawClient(PluginSocket);
        _api = ApiDaemon.CreateRawClient(Path.Combine(_dir.FullName, "yard.sock"));
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(string call, string? body)
    {
        using var content = new StringContent(body ?? "", Encoding.UTF8, "application/vnd.docker.plugins.v1.2+json");
        using var response = await _plugin.PostAsync("http://plugin/" + call, content);
        Assert.Equal("application/vnd.docker.plugins.v1+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    [Fact]
    public async Task The_handshake_and_capabilities_answer_a_local_network_driver()
    {
        var (status, activate) = await CallAsync("Plugin.Activate", "null\n");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("NetworkDriver", activate.GetProperty("Implements")[0].GetString());
        var (_, caps) = await CallAsync("NetworkDriver.GetCapabilities", "");
        Assert.Equal("local", caps.GetProperty("Scope").GetString());
        Assert.Equal("local", caps.GetProperty("ConnectivityScope").GetString());
        Assert.Equal(HttpStatusCode.OK, (await CallAsync("NetworkDriver.DiscoverNew", """{"DiscoveryType":1,"DiscoveryData":{}}""")).Status);
        var (_, allocate) = await CallAsync("NetworkDriver.AllocateNetwork", """{"NetworkID":"x","Options":{}}""");
        Assert.Equal(JsonValueKind.Object, allocate.GetProperty("Options").ValueKind);
    }

    [Fact]
    public async Task Refusals_are_err_objects_with_a_status()
    {
        const string id = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd";
        var (status, body) = await CallAsync("NetworkDriver.CreateNetwork",
            $$$"""{"NetworkID":"{{{id}}}","Options":{"com.docker.network.generic":{"colour":"blue"}},"IPv4Data":[{"Pool":"10.40.0.0/24","Gateway":"10.40.0.1/24"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("unknown option 'colour'", body.GetProperty("Err").GetString(), StringComparison.Ordinal);

        (status, body) = await CallAsync("NetworkDriver.CreateNetwork", "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("NetworkDriver.CreateNetwork", body.GetProperty("Err").GetString(), StringComparison.Ordinal);

        (status, body) = await CallAsync("NetworkDriver.Join", $$"""{"NetworkID":"{{id}}","EndpointID":"{{id}}","SandboxKey":"/var/run/docker/netns/x"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("not served by this driver", body.GetProperty("Err").GetString(), StringComparison.Ordinal);

        (status, body) = await CallAsync("NetworkDriver.NoSuchCall", "{}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("no such plugin call", body.GetProperty("Err").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_network_dockerd_cannot_name_is_docker_id12_and_goes_with_delete()
    {
        const string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var (status, _) = await CallAsync("NetworkDriver.CreateNetwork",
            $$$"""{"NetworkID":"{{{id}}}","Options":{"com.docker.network.generic":{"mode":"host"}},"IPv4Data":[{"Pool":"10.41.0.0/24","Gateway":"10.41.0.1/24"}],"IPv6Data":[]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var service = _app!.Services.GetService(typeof(DockerPluginService)) as DockerPluginService;
        await service!.Driver.IdleAsync();
        var net = JsonDocument.Parse(await _api.GetStringAsync("http://yard/networks/docker-0123456789ab")).RootElement;
        Assert.Equal("host", net.GetProperty("mode").GetString());
        Assert.Equal(id, net.GetProperty("labels").GetProperty("com.docker.network.id").GetString());

        Assert.Equal(HttpStatusCode.OK, (await CallAsync("NetworkDriver.DeleteNetwork", $$"""{"NetworkID":"{{id}}"}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync("http://yard/networks/docker-0123456789ab")).StatusCode);
    }

    [Fact]
    public async Task The_api_and_the_driver_do_not_serve_each_others_routes()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _plugin.GetAsync("http://plugin/networks")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.PostAsync("http://yard/Plugin.Activate", new StringContent("null"))).StatusCode);
    }

    [Fact]
    public void The_plugin_socket_is_for_its_owner_only()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PluginSocket));
    }

    public async Task DisposeAsync()
    {
        _plugin.Dispose();
        _api.Dispose();
        if (_app is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Assert.False(File.Exists(PluginSocket), "the plugin socket outlived the daemon");
        _dir.Delete(recursive: true);
    }
}
