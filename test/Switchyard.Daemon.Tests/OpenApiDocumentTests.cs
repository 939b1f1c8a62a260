using System.Text.Json;
using System.Text.Json.Nodes;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests;

/// <summary>docs/openapi.json is the document the daemon serves at /openapi.json; this keeps the
/// checked-in copy true. Regenerate with UPDATE_OPENAPI=1 dotnet test --filter OpenApiDocument.</summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private readonly ApiDaemon _daemon = new();

    public Task InitializeAsync() => _daemon.StartAsync();
    public async Task DisposeAsync() => await _daemon.DisposeAsync();

    private static string DocsPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Switchyard.slnx"))) return Path.Combine(dir.FullName, "docs", "openapi.json");
        throw new InvalidOperationException("cannot find the repository root (Switchyard.slnx) above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task The_served_document_matches_docs_openapi_json()
    {
        var served = JsonNode.Parse(await _daemon.Raw.GetStringAsync("openapi.json"))!;
        var path = DocsPath();
        var pretty = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1") await File.WriteAllTextAsync(path, pretty);
        var checkedIn = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        Assert.True(JsonNode.DeepEquals(served, checkedIn), $"{path} is out of date: run UPDATE_OPENAPI=1 dotnet test test/Switchyard.Daemon.Tests --filter OpenApiDocument");
    }

    [Fact]
    public async Task Every_route_is_documented_with_its_errors()
    {
        var doc = JsonNode.Parse(await _daemon.Raw.GetStringAsync("openapi.json"))!;
        var paths = doc["paths"]!.AsObject();
        foreach (var route in new[] { "/version", "/health", "/networks", "/networks/{name}", "/endpoints", "/networks/{network}/endpoints",
                     "/networks/{network}/endpoints/{name}", "/networks/{network}/leases",
                     "/networks/{network}/endpoints/{name}/published", "/networks/{network}/endpoints/{name}/published/{spec}", "/interfaces", "/networks/{network}/flows", "/networks/prune" })
            Assert.True(paths.ContainsKey(route), $"{route} is missing from the OpenAPI document");
        Assert.NotNull(paths["/networks"]!["post"]!["requestBody"]);
        Assert.NotNull(paths["/networks"]!["post"]!["responses"]!["409"]);
        Assert.NotNull(paths["/networks/{network}/endpoints"]!["post"]!["responses"]!["400"]);
        Assert.NotNull(paths["/networks/{network}/endpoints/{name}/published"]!["post"]!["requestBody"]);
        Assert.NotNull(paths["/networks/{network}/endpoints/{name}/published"]!["post"]!["responses"]!["409"]);
        Assert.NotNull(paths["/networks/{network}/endpoints/{name}/published/{spec}"]!["delete"]!["responses"]!["404"]);
        Assert.NotNull(paths["/networks/{network}/flows"]!["get"]!["responses"]!["400"]);
        // The list filters are query parameters (issue 12), documented on each listing and on prune.
        foreach (var (route, method, key) in new[] { ("/networks", "get", "mode"), ("/networks/prune", "post", "label"), ("/endpoints", "get", "network"),
                     ("/networks/{network}/endpoints", "get", "label") })
            Assert.Contains(paths[route]![method]!["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == key && p["in"]!.GetValue<string>() == "query");
    }
}
