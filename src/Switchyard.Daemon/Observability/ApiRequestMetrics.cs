using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Switchyard.Daemon.Observability;

/// <summary>
/// Counts API requests (unix socket and TCP listener alike) by route template, method and status:
/// <c>switchyard_api_requests_total</c>. The route is the matched endpoint's pattern
/// (<c>/networks/{network}/endpoints/{name}</c>), never the path, and unknown methods count as
/// "other", so the number of series stays bounded whatever clients send. Control-plane requests
/// only: nothing here is on a packet path.
/// </summary>
internal sealed class ApiRequestMetrics : IMetricsCollector
{
    private readonly ConcurrentDictionary<(string Route, string Method, int Status), StrongBox<long>> _counts = new();

    /// <summary>Goes first in the pipeline, outside the problem middleware, so the status counted is the
    /// one the client got (a <c>ControlException</c> turned into 404 counts as 404).</summary>
    public async Task Middleware(HttpContext context, RequestDelegate next)
    {
        int? failed = null;
        try
        {
            await next(context);
        }
        catch
        {
            failed = StatusCodes.Status500InternalServerError;   // nothing wrote a status for it
            throw;
        }
        finally
        {
            Count(Route(context), context.Request.Method, failed ?? context.Response.StatusCode);
        }
    }

    internal void Count(string route, string method, int status)
    {
        var box = _counts.GetOrAdd((route, Method(method), status), static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }

    public void Collect(PrometheusWriter w, ScrapeView view)
    {
        w.Family("switchyard_api_requests_total", MetricType.Counter,
            "API requests answered, by route template, method and status (unix socket and the read-only HTTP listener).");
        foreach (var (key, box) in _counts.OrderBy(kv => kv.Key.Route, StringComparer.Ordinal).ThenBy(kv => kv.Key.Method, StringComparer.Ordinal)
                     .ThenBy(kv => kv.Key.Status))
            w.Sample(Volatile.Read(ref box.Value), new Label("route", key.Route), new Label("method", key.Method),
                new Label("status", key.Status.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>The template of the route that matched; requests no route matched share one value.</summary>
    internal static string Route(HttpContext context) =>
        context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } raw } ? raw : "unmatched";

    private static string Method(string method) =>
        HttpMethods.IsGet(method) ? "GET" : HttpMethods.IsHead(method) ? "HEAD" : HttpMethods.IsPost(method) ? "POST"
        : HttpMethods.IsPut(method) ? "PUT" : HttpMethods.IsPatch(method) ? "PATCH" : HttpMethods.IsDelete(method) ? "DELETE"
        : HttpMethods.IsOptions(method) ? "OPTIONS" : "other";
}
