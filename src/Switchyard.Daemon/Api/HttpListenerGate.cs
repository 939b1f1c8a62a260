using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Switchyard.Daemon.Api;

/// <summary>Marks a route as one the read-only TCP listener (<c>--http-listen</c>) serves.</summary>
internal sealed class ServedOnHttpListenerMetadata
{
    public static readonly ServedOnHttpListenerMetadata Instance = new();
}

/// <summary>
/// The rules of <c>--http-listen</c>: a TCP listener for dashboards and scrapers that may read and
/// never change anything. The API socket's authority is its file mode (and <c>--group</c>); a TCP
/// port has none, so on TCP only GET/HEAD of routes marked <see cref="ServedOnHttpListener{T}"/> are
/// served. The Host header must name an IP address or localhost: a web page elsewhere that
/// rebinds its own name to 127.0.0.1 (DNS rebinding) must not read the network through a browser.
/// </summary>
public static class HttpListenerGate
{
    /// <summary>Lets the TCP listener serve this (read-only) route too.</summary>
    public static TBuilder ServedOnHttpListener<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ServedOnHttpListenerMetadata.Instance);

    /// <summary>Whether the request came in over TCP (the unix socket's endpoints are not IP endpoints).</summary>
    public static bool IsHttpListener(HttpContext context) => context.Connection.LocalIpAddress is not null;

    internal static async Task Middleware(HttpContext context, RequestDelegate next)
    {
        if (!IsHttpListener(context)) { await next(context); return; }
        if (!IsAcceptedHost(context.Request.Host.Host))
        {
            await ApiRoutes.WriteProblem(context, StatusCodes.Status403Forbidden,
                $"Host '{context.Request.Host.Host}' is not accepted on the HTTP listener: use an IP address or localhost (a guard against DNS rebinding)");
            return;
        }
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            // RFC 9110 §15.5.6: a 405 says what is allowed.
            await ApiRoutes.WriteProblem(context, StatusCodes.Status405MethodNotAllowed,
                $"the HTTP listener is read-only: {context.Request.Method} is not allowed; use the API socket", allow: "GET, HEAD");
            return;
        }
        if (context.GetEndpoint()?.Metadata.GetMetadata<ServedOnHttpListenerMetadata>() is null)
        {
            await ApiRoutes.WriteProblem(context, StatusCodes.Status404NotFound,
                $"{context.Request.Method} {context.Request.Path} is not served on the read-only HTTP listener; use the API socket");
            return;
        }
        await next(context);
    }

    /// <summary>An IP literal (v4, or v6 in brackets as RFC 7230 §5.4 writes it) or localhost.</summary>
    internal static bool IsAcceptedHost(string host)
    {
        if (string.IsNullOrEmpty(host)) return false;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(literal, out _);
    }
}
