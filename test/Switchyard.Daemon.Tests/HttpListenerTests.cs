using System.Net;
using System.Text;
using Switchyard.Daemon.Api;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary><c>--http-listen</c>: the read-only TCP listener serves the marked GET routes and nothing else.</summary>
public sealed class HttpListenerTests : IClassFixture<ApiDaemon>
{
    private readonly ApiDaemon _d;

    public HttpListenerTests(ApiDaemon daemon) => _d = daemon;

    [Fact]
    public void Listens_on_loopback_only()
    {
        Assert.True(IPAddress.IsLoopback(_d.HttpListenAddress.Address));
        Assert.NotEqual(0, _d.HttpListenAddress.Port);
    }

    [Theory]
    [InlineData("health")]
    [InlineData("version")]
    [InlineData("networks")]
    [InlineData("endpoints")]
    public async Task Read_only_routes_are_served(string path)
    {
        using var http = _d.CreateHttpClient();
        using var r = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task A_network_is_readable_over_tcp_but_not_changeable()
    {
        var net = await _d.Client.CreateNetworkAsync(new Client.NetworkCreateRequest { Name = "httpro", Subnet = "10.231.7.0/24", DnsUpstreams = ["none"] });
        using var http = _d.CreateHttpClient();
        using (var r = await http.GetAsync($"networks/{net.Name}")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await http.GetAsync($"networks/{net.Name}/endpoints")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);

        using (var r = await http.DeleteAsync($"networks/{net.Name}"))
        {
            var detail = await Problems.ExpectRaw(HttpStatusCode.MethodNotAllowed, r);
            Assert.Contains("read-only", detail);
        }
        // Still there: the TCP listener changed nothing.
        Assert.Equal(net.Name, (await _d.Client.GetNetworkAsync(net.Name)).Name);
        await _d.Client.DeleteNetworkAsync(net.Name);
    }

    [Fact]
    public async Task Control_routes_are_not_served()
    {
        using var http = _d.CreateHttpClient();
        using (var r = await http.PostAsync("networks", new StringContent("{\"name\":\"viatcp\"}", Encoding.UTF8, "application/json")))
        {
            var detail = await Problems.ExpectRaw(HttpStatusCode.MethodNotAllowed, r);
            Assert.Contains("read-only", detail);
            Assert.Contains("GET", r.Content.Headers.Allow.Concat(r.Headers.TryGetValues("Allow", out var v) ? v : []));
        }
        using (var r = await http.GetAsync("interfaces")) Assert.Contains("not served on the read-only HTTP listener", await Problems.ExpectRaw(HttpStatusCode.NotFound, r));
        using (var r = await http.GetAsync("openapi.json")) await Problems.ExpectRaw(HttpStatusCode.NotFound, r);
        using (var r = await http.GetAsync("no/such/route")) await Problems.ExpectRaw(HttpStatusCode.NotFound, r);
        Assert.DoesNotContain(await _d.Client.ListNetworksAsync(), n => n.Name == "viatcp");
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("localhost.evil.example")]
    public async Task A_foreign_host_name_is_refused(string host)
    {
        using var http = _d.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "health");
        request.Headers.Host = $"{host}:{_d.HttpListenAddress.Port}";
        using var r = await http.SendAsync(request);
        var detail = await Problems.ExpectRaw(HttpStatusCode.Forbidden, r);
        Assert.Contains("DNS rebinding", detail);
    }

    [Fact]
    public async Task The_socket_still_serves_everything()
    {
        using var r = await _d.Raw.GetAsync("interfaces");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("localhost", true)]
    [InlineData("LOCALHOST", true)]
    [InlineData("[::1]", true)]
    [InlineData("192.0.2.7", true)]
    [InlineData("example.com", false)]
    [InlineData("", false)]
    public void Accepted_hosts_are_ip_literals_and_localhost(string host, bool accepted) =>
        Assert.Equal(accepted, HttpListenerGate.IsAcceptedHost(host));
}
