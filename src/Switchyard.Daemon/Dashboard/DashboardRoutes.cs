using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchyard.Daemon.Api;

namespace Switchyard.Daemon.Dashboard;

/// <summary>
/// Serves the web dashboard: the page at <c>/</c> and its files at <c>/dashboard/NAME</c>, on the
/// read-only TCP listener (<c>--http-listen</c>) and the API socket alike. The page only reads the
/// JSON routes the listener already serves; these routes change nothing either.
/// </summary>
internal static class DashboardRoutes
{
    /// <summary>Everything from the daemon itself and nothing inline: a value the daemon returns
    /// (an endpoint's name, an egress event's SNI) can never run as script or load anything.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    public static void Map(IEndpointRouteBuilder app, DashboardAssets assets)
    {
        app.MapMethods("/", ReadMethods, (HttpContext context) => Serve(context, assets.Index))
            .ServedOnHttpListener().ExcludeFromDescription();
        app.MapMethods("/dashboard/{asset}", ReadMethods, (HttpContext context, string asset) =>
            assets.Find(asset) is { } found
                ? Serve(context, found)
                : ApiRoutes.WriteProblem(context, StatusCodes.Status404NotFound, $"no such dashboard file: {asset}"))
            .ServedOnHttpListener().ExcludeFromDescription();
    }

    private static Task Serve(HttpContext context, DashboardAsset asset)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ETag = asset.ETag;
        // The names carry no version, so a browser must ask again each time; the ETag makes that a
        // 304 without a body, and an upgraded daemon's files are never mixed with cached old ones.
        headers.CacheControl = "no-cache";
        if (NotModified(context.Request.Headers.IfNoneMatch, asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        // Kestrel sends no body for HEAD, but the headers (length included) are the GET's.
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : response.Body.WriteAsync(asset.Content, context.RequestAborted).AsTask();
    }

    /// <summary>RFC 9110 §13.1.2: If-None-Match matches with the weak comparison, and "*" matches any.</summary>
    internal static bool NotModified(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string etag)
    {
        foreach (var header in ifNoneMatch)
        {
            foreach (var part in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var tag = part.StartsWith("W/", StringComparison.Ordinal) ? part[2..] : part;
                if (tag == "*" || tag == etag) return true;
            }
        }
        return false;
    }
}
