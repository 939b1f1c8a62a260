using System.Net;
using System.Text;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>Requests the typed client cannot make: broken bodies, unknown routes, wrong methods.</summary>
public sealed class RawHttpTests : IClassFixture<ApiDaemon>
{
    private readonly ApiDaemon _d;

    public RawHttpTests(ApiDaemon daemon) => _d = daemon;

    private Task<HttpResponseMessage> Post(string path, string body) =>
        _d.Raw.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"name\": 42}")]
    [InlineData("{\"name\": \"x\", \"mtu\": \"big\"}")]
    [InlineData("{\"name\": \"x\"")]
    [InlineData("\"just a string\"")]
    public async Task Bad_json_network_body_is_400_with_a_message(string body)
    {
        using var r = await Post("networks", body);
        var detail = await Problems.ExpectRaw(HttpStatusCode.BadRequest, r);
        Assert.Contains("JSON", detail);
    }

    [Fact]
    public async Task Missing_required_name_is_400()
    {
        using var r = await Post("networks", "{\"subnet\": \"10.230.0.0/24\"}");
        var detail = await Problems.ExpectRaw(HttpStatusCode.BadRequest, r);
        Assert.Contains("name", detail);
    }

    [Fact]
    public async Task Null_name_is_400()
    {
        using var r = await Post("networks", "{\"name\": null, \"subnet\": \"10.230.0.0/24\"}");
        await Problems.ExpectRaw(HttpStatusCode.BadRequest, r);
    }

    [Fact]
    public async Task Empty_body_is_400()
    {
        using var r = await _d.Raw.PostAsync("networks", new ByteArrayContent([]));
        var detail = await Problems.ExpectRaw(HttpStatusCode.BadRequest, r);
        Assert.Contains("body", detail);
    }

    [Fact]
    public async Task Binary_garbage_is_400()
    {
        using var r = await _d.Raw.PostAsync("networks", new ByteArrayContent([0xff, 0xfe, 0x00, 0x01, 0x7b]));
        await Problems.ExpectRaw(HttpStatusCode.BadRequest, r);
    }

    [Theory]
    [InlineData("{oops")]
    [InlineData("{\"name\": \"a\"}")]                                // no transport
    [InlineData("{\"name\": \"a\", \"transport\": null}")]           // null transport
    [InlineData("{\"name\": \"a\", \"transport\": {}}")]             // transport without kind
    [InlineData("{\"name\": \"a\", \"transport\": {\"kind\": null}}")]
    [InlineData("{\"name\": \"a\", \"transport\": \"tap\"}")]
    public async Task Bad_endpoint_body_is_400(string body)
    {
        using var r = await Post("networks/default/endpoints", body);
        await Problems.ExpectRaw(HttpStatusCode.BadRequest, r);
    }

    [Theory]
    [InlineData("GET", "nope")]
    [InlineData("GET", "networks/default/nope")]
    [InlineData("GET", "v2/networks")]
    [InlineData("GET", "file.json")]
    [InlineData("POST", "health")]
    public async Task Unknown_route_is_404_problem(string method, string path)
    {
        using var r = await _d.Raw.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var detail = await Problems.ExpectRaw(HttpStatusCode.NotFound, r);
        Assert.Contains("/" + path, detail);
    }

    [Fact]
    public async Task Errors_from_every_route_family_are_problem_json()
    {
        (string Method, string Path, HttpStatusCode Status)[] cases =
        [
            ("GET", "networks/ghost", HttpStatusCode.NotFound),
            ("DELETE", "networks/ghost", HttpStatusCode.NotFound),
            ("GET", "networks/ghost/endpoints", HttpStatusCode.NotFound),
            ("GET", "networks/ghost/endpoints/x", HttpStatusCode.NotFound),
            ("DELETE", "networks/ghost/endpoints/x", HttpStatusCode.NotFound),
            ("GET", "networks/ghost/leases", HttpStatusCode.NotFound),
            ("GET", "networks/default/endpoints/x", HttpStatusCode.NotFound),
        ];
        foreach (var (method, path, status) in cases)
        {
            using var r = await _d.Raw.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            await Problems.ExpectRaw(status, r);
        }
    }

    [Fact]
    public async Task Success_responses_are_json()
    {
        using var r = await _d.Raw.GetAsync("networks");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        using var created = await Post("networks", "{\"name\": \"rawok\", \"subnet\": \"10.231.0.0/24\"}");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var del = await _d.Raw.DeleteAsync("networks/rawok");
        Assert.Equal(HttpStatusCode.NoContent, del.StatusCode);
    }
}
