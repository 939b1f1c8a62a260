using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Switchyard.Daemon.Dashboard;
using Switchyard.Daemon.Tests.Infrastructure;

namespace Switchyard.Daemon.Tests.Dashboard;

/// <summary>The dashboard's page and files on the read-only TCP listener (and the socket): the right
/// content types, the security headers on every one, ETags that give 304s, and 404 for anything else.</summary>
public sealed class DashboardRoutesTests : IClassFixture<ApiDaemon>
{
    private readonly ApiDaemon _d;

    public DashboardRoutesTests(ApiDaemon daemon) => _d = daemon;

    public static TheoryData<string, string> Files() => new()
    {
        { "", "text/html" },
        { "dashboard/index.html", "text/html" },
        { "dashboard/dashboard.css", "text/css" },
        { "dashboard/app.js", "text/javascript" },
        { "dashboard/dom.js", "text/javascript" },
        { "dashboard/views.js", "text/javascript" },
        { "dashboard/charts.js", "text/javascript" },
        { "dashboard/topology.js", "text/javascript" },
        { "dashboard/feed.js", "text/javascript" },
        { "dashboard/icon.svg", "image/svg+xml" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Each_file_is_served_with_its_type_and_the_security_headers(string path, string mediaType)
    {
        using var http = _d.CreateHttpClient();
        using var r = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(mediaType, r.Content.Headers.ContentType?.MediaType);
        AssertSecurityHeaders(r);
        Assert.NotNull(r.Headers.ETag);
        Assert.False(r.Headers.ETag!.IsWeak);
        Assert.True(r.Headers.CacheControl?.NoCache, "no-cache: revalidate with the ETag");
        var body = await r.Content.ReadAsByteArrayAsync();
        Assert.NotEmpty(body);
        Assert.Equal(body.Length, r.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task The_policy_allows_nothing_inline_or_external()
    {
        using var http = _d.CreateHttpClient();
        using var r = await http.GetAsync("");
        var csp = string.Join(";", r.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe", csp);
        Assert.DoesNotContain("http", csp);
        Assert.DoesNotContain("*", csp);
    }

    [Fact]
    public async Task The_page_references_only_its_own_files_and_no_inline_script()
    {
        using var http = _d.CreateHttpClient();
        var html = await http.GetStringAsync("");
        Assert.DoesNotContain("<style", html);
        Assert.DoesNotContain(" style=", html);
        Assert.DoesNotContain("javascript:", html);
        Assert.DoesNotMatch(new Regex(@"<script(?![^>]*\bsrc=)[^>]*>"), html);   // every script has a src
        Assert.DoesNotMatch(new Regex(@"\son[a-z]+="), html);                     // no inline handlers
        foreach (Match m in Regex.Matches(html, @"(?:src|href)=""([^""#]+)"""))
        {
            var url = m.Groups[1].Value;
            Assert.StartsWith("/dashboard/", url);
            using var r = await http.GetAsync(url.TrimStart('/'));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
    }

    [Fact]
    public async Task Every_module_import_is_an_embedded_file()
    {
        // A module the page imports but the daemon does not serve breaks the page: check every import.
        using var http = _d.CreateHttpClient();
        var modules = DashboardAssets.Load().All.Select(a => a.Name).Where(n => n.EndsWith(".js", StringComparison.Ordinal)).ToList();
        Assert.Contains("app.js", modules);
        foreach (var js in modules)
        {
            var source = await http.GetStringAsync($"dashboard/{js}");
            // The SVG namespace is a name, not a fetch; any other URL would be something external.
            var urls = source.Replace("'http://www.w3.org/2000/svg'", "");
            Assert.DoesNotContain("http://", urls);
            Assert.DoesNotContain("https://", urls);
            foreach (Match m in Regex.Matches(source, @"from '\./([^']+)'"))
            {
                using var r = await http.GetAsync($"dashboard/{m.Groups[1].Value}");
                Assert.True(r.StatusCode == HttpStatusCode.OK, $"{js} imports {m.Groups[1].Value}, which is not served");
            }
        }
    }

    [Fact]
    public async Task A_matching_etag_gets_304_without_a_body()
    {
        using var http = _d.CreateHttpClient();
        using var first = await http.GetAsync("dashboard/app.js");
        using var again = new HttpRequestMessage(HttpMethod.Get, "dashboard/app.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var r = await http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, r.StatusCode);
        Assert.Empty(await r.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Headers.ETag, r.Headers.ETag);
        AssertSecurityHeaders(r);

        using var other = new HttpRequestMessage(HttpMethod.Get, "dashboard/app.js");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"0000\""));
        using var changed = await http.SendAsync(other);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
    }

    [Fact]
    public async Task Files_have_different_etags()
    {
        using var http = _d.CreateHttpClient();
        var tags = new HashSet<string>();
        foreach (var asset in DashboardAssets.Load().All)
        {
            using var r = await http.GetAsync($"dashboard/{asset.Name}");
            Assert.True(tags.Add(r.Headers.ETag!.Tag), $"{asset.Name} has the ETag of another file");
        }
    }

    [Fact]
    public async Task Head_gives_the_headers_without_the_body()
    {
        using var http = _d.CreateHttpClient();
        using var r = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "dashboard/dashboard.css"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/css", r.Content.Headers.ContentType?.MediaType);
        Assert.True(r.Content.Headers.ContentLength > 0);
        Assert.Empty(await r.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("dashboard/nothing.js")]
    [InlineData("dashboard/APP.JS")]
    [InlineData("dashboard/..%2Fstate.db")]
    [InlineData("dashboard/sub/app.js")]
    [InlineData("dashboard/")]
    public async Task Unknown_files_are_404(string path)
    {
        using var http = _d.CreateHttpClient();
        using var r = await http.GetAsync(path);
        await Problems.ExpectRaw(HttpStatusCode.NotFound, r);
    }

    [Fact]
    public async Task Writes_are_refused_on_the_listener()
    {
        using var http = _d.CreateHttpClient();
        using var r = await http.PostAsync("", new StringContent("x"));
        await Problems.ExpectRaw(HttpStatusCode.MethodNotAllowed, r);
    }

    [Fact]
    public async Task The_socket_serves_the_page_too()
    {
        using var r = await _d.Raw.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/html", r.Content.Headers.ContentType?.MediaType);
        AssertSecurityHeaders(r);
    }

    [Fact]
    public async Task The_dashboard_is_not_in_the_openapi_document()
    {
        var doc = await _d.Raw.GetStringAsync("openapi.json");
        Assert.DoesNotContain("\"/dashboard/", doc);
        Assert.DoesNotContain("\"/\":", doc);
    }

    [Theory]
    [InlineData("W/\"abc\", \"def\"", "\"def\"", true)]
    [InlineData("W/\"def\"", "\"def\"", true)]
    [InlineData("*", "\"def\"", true)]
    [InlineData("\"abc\"", "\"def\"", false)]
    [InlineData("", "\"def\"", false)]
    public void If_none_match_uses_the_weak_comparison(string header, string etag, bool matches) =>
        Assert.Equal(matches, DashboardRoutes.NotModified(header, etag));

    private static void AssertSecurityHeaders(HttpResponseMessage r)
    {
        Assert.Equal(DashboardRoutes.ContentSecurityPolicy, Assert.Single(r.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", Assert.Single(r.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(r.Headers.GetValues("Referrer-Policy")));
    }
}
