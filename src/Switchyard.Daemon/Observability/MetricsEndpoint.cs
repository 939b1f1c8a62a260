using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.ObjectPool;
using Switchyard.Daemon.Api;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Observability;

/// <summary>
/// <c>GET /metrics</c>: every collector's families in the Prometheus text format, on the API socket
/// and on the read-only HTTP listener. Everything is read at scrape time from state the data plane
/// keeps anyway (the hot path does not know metrics exist); the text is built in a pooled
/// StringBuilder and sent with its length.
/// </summary>
internal sealed class MetricsEndpoint(NetworkRegistry registry, IStateStore store, IReadOnlyList<IMetricsCollector> collectors, TimeProvider time)
{
    private readonly ObjectPool<StringBuilder> _buffers = new DefaultObjectPoolProvider().CreateStringBuilderPool(16 * 1024, 4 * 1024 * 1024);

    /// <summary>The daemon's collectors, in the order their families appear.</summary>
    public static IReadOnlyList<IMetricsCollector> DefaultCollectors(ApiRequestMetrics requests, StateCollector state) =>
    [
        new BuildInfoCollector(),
        new NetworkCollector(),
        new EndpointCollector(),
        new DhcpCollector(),
        new DnsCollector(),
        new NatCollector(),
        new EgressCollector(),
        new VxlanCollector(),
        requests,
        state,
        new ProcessCollector(),
    ];

    /// <summary>Adds <c>/metrics</c> and the API request counting middleware; call before any other
    /// middleware, so the status counted is the one the client got.</summary>
    /// <param name="pendingWrites">The data plane's writes waiting for the disk (<see cref="DataPlaneEvents.PendingWrites"/>).</param>
    public static void Add(WebApplication app, NetworkRegistry registry, IStateStore store, Func<int> pendingWrites)
    {
        var requests = new ApiRequestMetrics();
        app.Use(requests.Middleware);
        new MetricsEndpoint(registry, store, DefaultCollectors(requests, new StateCollector(store.Health, pendingWrites)), TimeProvider.System).Map(app);
    }

    public void Map(IEndpointRouteBuilder app)
    {
        // Two parameters: a lambda that is a RequestDelegate would bypass the route handler (and OpenAPI).
        // A local, not `this`: a handler declared on this class would be tagged with its name in OpenAPI.
        var self = this;
        app.MapGet("/metrics", (HttpContext context, CancellationToken cancel) => self.Serve(context, cancel))
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .WithName("GetMetrics")
            .WithSummary("Prometheus metrics (text exposition format 0.0.4): endpoints, gateway services, NAT, API, process; see docs/observability.md")
            .ServedOnHttpListener();
    }

    private void Write(StringBuilder sb)
    {
        var view = ScrapeView.Take(registry, store, time.GetUtcNow());
        var writer = new PrometheusWriter(sb);
        foreach (var c in collectors) c.Collect(writer, view);
    }

    private async Task Serve(HttpContext context, CancellationToken cancel)
    {
        var sb = _buffers.Get();
        byte[]? bytes = null;
        try
        {
            Write(sb);
            int length = 0;
            bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(sb.Length));
            // One encoder across the chunks: a surrogate pair split between two chunks stays one character.
            var encoder = Encoding.UTF8.GetEncoder();
            foreach (var chunk in sb.GetChunks()) length += encoder.GetBytes(chunk.Span, bytes.AsSpan(length), flush: false);
            length += encoder.GetBytes([], bytes.AsSpan(length), flush: true);
            context.Response.ContentType = PrometheusWriter.ContentType;
            context.Response.ContentLength = length;
            await context.Response.Body.WriteAsync(bytes.AsMemory(0, length), cancel);
        }
        finally
        {
            _buffers.Return(sb);
            if (bytes is not null) ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
