using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Api.Views;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Api;

/// <summary>The HTTP/JSON API on the daemon's unix socket. Every error is RFC 7807
/// problem+json with a one-line detail the CLI prints as is.</summary>
public static class ApiRoutes
{
    public const int ApiVersion = 1;

    internal static void Map(IEndpointRouteBuilder app, ControlPlane plane, IStateStore store, DateTimeOffset started)
    {
        var directory = plane.Directory;
        var networks = new NetworkViews(plane.Registry);
        var endpoints = new EndpointViews(plane.Registry, store);
        var flows = new FlowViews(plane.Registry);
        app.MapGet("/version", () => Results.Json(new VersionInfo
        {
            Version = typeof(ApiRoutes).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            Runtime = Environment.Version.ToString(),
            Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ApiVersion = ApiVersion,
        }, SwitchyardJsonContext.Default.VersionInfo))
            .Produces<VersionInfo>().WithName("GetVersion").ServedOnHttpListener().WithSummary("The daemon's version and API version");

        app.MapGet("/health", () => Results.Json(new HealthInfo
        {
            Status = "ok",
            Networks = plane.Registry.Count,
            Endpoints = plane.Registry.EndpointCount,
            Uptime = DateTimeOffset.UtcNow - started,
        }, SwitchyardJsonContext.Default.HealthInfo))
            .Produces<HealthInfo>().WithName("GetHealth").ServedOnHttpListener().WithSummary("Liveness and counts");

        app.MapGet("/interfaces", () => Results.Json(HostInterfaceViews.List().ToList(), SwitchyardJsonContext.Default.ListHostInterfaceInfo))
            .Produces<List<HostInterfaceInfo>>().WithName("ListInterfaces")
            .WithSummary("The host's interfaces: kind, MAC, MTU, state, addresses, and whether a bridged network can use each");

        app.MapGet("/networks", (HttpRequest request) => Results.Json(networks.List(Filter(request, ListFilter.NetworkKeys)), SwitchyardJsonContext.Default.ListNetworkInfo))
            .Produces<List<NetworkInfo>>().ProducesProblem(400).WithFilters(ListFilter.NetworkKeys).WithName("ListNetworks").ServedOnHttpListener()
            .WithSummary("All networks, or those that pass the filters");
        app.MapPost("/networks/prune", async (HttpRequest request) =>
        {
            var filter = Filter(request, ListFilter.NetworkKeys);
            var result = await directory.PruneNetworksAsync(CallerIdentity.Of(request.HttpContext), n => NetworkViews.Passes(filter, n));
            return Results.Json(result, SwitchyardJsonContext.Default.NetworkPruneResult);
        }).Produces<NetworkPruneResult>().ProducesProblem(400).WithFilters(ListFilter.NetworkKeys).WithName("PruneNetworks")
            .WithSummary("Remove every network without endpoints (except default) that passes the filters; networks the caller may not remove are kept, with the reason");
        app.MapPost("/networks", async (HttpRequest request) =>
        {
            var body = await ReadBody(request, SwitchyardJsonContext.Default.NetworkCreateRequest);
            var created = networks.Describe(await directory.CreateNetworkAsync(CallerIdentity.Of(request.HttpContext), body));
            return Results.Json(created, SwitchyardJsonContext.Default.NetworkInfo, statusCode: StatusCodes.Status201Created);
        }).WithJsonBody<NetworkCreateRequest>().Produces<NetworkInfo>(StatusCodes.Status201Created)
            .ProducesProblem(400).ProducesProblem(409).ProducesProblem(403).WithName("CreateNetwork").WithSummary("Create a network");
        app.MapGet("/networks/{name}", (string name) => Results.Json(networks.Get(name), SwitchyardJsonContext.Default.NetworkInfo))
            .Produces<NetworkInfo>().ProducesProblem(404).WithName("GetNetwork").ServedOnHttpListener().WithSummary("One network, with its gateway services' counters");
        app.MapMethods("/networks/{name}", ["PATCH"], async (string name, HttpRequest request) =>
        {
            var body = await ReadBody(request, SwitchyardJsonContext.Default.NetworkUpdateRequest);
            return Results.Json(networks.Describe(await directory.UpdateNetworkAsync(CallerIdentity.Of(request.HttpContext), name, body)), SwitchyardJsonContext.Default.NetworkInfo);
        }).WithJsonBody<NetworkUpdateRequest>().Produces<NetworkInfo>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .ProducesProblem(403).WithName("UpdateNetwork").WithSummary("Change a network's mode or host loopback (refused while endpoints are attached), its NAT flow cap, egress policy or VXLAN peers (live)");
        app.MapDelete("/networks/{name}", async (string name, HttpContext context) =>
        {
            await directory.DeleteNetworkAsync(CallerIdentity.Of(context), name);
            return Results.NoContent();
        }).Produces(StatusCodes.Status204NoContent).ProducesProblem(404).ProducesProblem(409)
            .ProducesProblem(403).WithName("DeleteNetwork").WithSummary("Remove a network without endpoints");

        app.MapGet("/endpoints", (HttpRequest request) =>
            Results.Json(endpoints.List(null, Filter(request, ListFilter.EndpointKeys)), SwitchyardJsonContext.Default.ListEndpointInfo))
            .Produces<List<EndpointInfo>>().ProducesProblem(400).WithFilters(ListFilter.EndpointKeys).WithName("ListAllEndpoints").ServedOnHttpListener()
            .WithSummary("Endpoints of every network, or those that pass the filters");
        app.MapGet("/networks/{network}/endpoints", (string network, HttpRequest request) =>
        {
            plane.Registry.Find(network);   // 404 for an unknown network, before the query is judged
            return Results.Json(endpoints.List(network, Filter(request, ListFilter.EndpointKeys)), SwitchyardJsonContext.Default.ListEndpointInfo);
        }).Produces<List<EndpointInfo>>().ProducesProblem(400).ProducesProblem(404).WithFilters(ListFilter.EndpointKeys).WithName("ListEndpoints")
            .ServedOnHttpListener().WithSummary("A network's endpoints, or those that pass the filters");
        app.MapPost("/networks/{network}/endpoints", async (string network, HttpRequest request) =>
        {
            var body = await ReadBody(request, SwitchyardJsonContext.Default.EndpointAttachRequest);
            var attached = endpoints.Describe(await directory.AttachAsync(CallerIdentity.Of(request.HttpContext), network, body));
            return Results.Json(attached, SwitchyardJsonContext.Default.EndpointInfo, statusCode: StatusCodes.Status201Created);
        }).WithJsonBody<EndpointAttachRequest>().Produces<EndpointInfo>(StatusCodes.Status201Created)
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(403).WithName("AttachEndpoint")
            .WithSummary("Attach a guest (tap, stream or dgram transport; fd endpoints come from the handoff)");
        app.MapGet("/networks/{network}/endpoints/{name}", (string network, string name) =>
            Results.Json(endpoints.Get(network, name), SwitchyardJsonContext.Default.EndpointInfo))
            .Produces<EndpointInfo>().ProducesProblem(404).WithName("GetEndpoint").ServedOnHttpListener().WithSummary("One endpoint: MAC, addresses, transport, lease, counters");
        app.MapDelete("/networks/{network}/endpoints/{name}", async (string network, string name, HttpContext context) =>
        {
            await directory.DetachAsync(CallerIdentity.Of(context), network, name);
            return Results.NoContent();
        }).Produces(StatusCodes.Status204NoContent).ProducesProblem(404).ProducesProblem(403).WithName("DetachEndpoint")
            .WithSummary("Detach an endpoint; its address stays reserved for its name");
        app.MapPost("/networks/{network}/endpoints/{name}/published", async (string network, string name, HttpRequest request) =>
        {
            var body = await ReadBody(request, SwitchyardJsonContext.Default.PublishRequest);
            var endpoint = endpoints.Describe(await directory.PublishAsync(CallerIdentity.Of(request.HttpContext), network, name, body.Spec));
            return Results.Json(endpoint, SwitchyardJsonContext.Default.EndpointInfo, statusCode: StatusCodes.Status201Created);
        }).WithJsonBody<PublishRequest>().Produces<EndpointInfo>(StatusCodes.Status201Created)
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(403).WithName("PublishPort")
            .WithSummary("Publish a host port to an endpoint: [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp], host address default 127.0.0.1");
        // The spec in the path is URL-encoded (127.0.0.1%3A8080%3A80%2Ftcp), or plain: the catch-all
        // takes 127.0.0.1:8080:80/tcp as it is. An encoded slash stays encoded in the path, so the
        // value is decoded here.
        app.MapDelete("/networks/{network}/endpoints/{name}/published/{**spec}", async (string network, string name, string spec, HttpContext context) =>
        {
            await directory.UnpublishAsync(CallerIdentity.Of(context), network, name, Uri.UnescapeDataString(spec));
            return Results.NoContent();
        }).Produces(StatusCodes.Status204NoContent).ProducesProblem(400).ProducesProblem(404).ProducesProblem(403).WithName("UnpublishPort")
            .WithSummary("Stop publishing a port (any spelling of the spec: 8080:80 is 127.0.0.1:8080:80/tcp)");
        app.MapPost("/networks/{network}/published", async (string network, HttpRequest request) =>
        {
            var body = await ReadBody(request, SwitchyardJsonContext.Default.NetworkPublishRequest);
            var net = networks.Describe(await directory.PublishToRemoteAsync(CallerIdentity.Of(request.HttpContext), network, body.To, body.Spec));
            return Results.Json(net, SwitchyardJsonContext.Default.NetworkInfo, statusCode: StatusCodes.Status201Created);
        }).WithJsonBody<NetworkPublishRequest>().Produces<NetworkInfo>(StatusCodes.Status201Created)
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(403).WithName("PublishPortToRemoteGuest")
            .WithSummary("Publish a host port to a guest with no endpoint here (behind the VXLAN tunnel), named by its DHCP host name, leased IPv4 address or MAC");
        app.MapDelete("/networks/{network}/published/{**spec}", async (string network, string spec, HttpContext context) =>
        {
            await directory.UnpublishRemoteAsync(CallerIdentity.Of(context), network, Uri.UnescapeDataString(spec));
            return Results.NoContent();
        }).Produces(StatusCodes.Status204NoContent).ProducesProblem(400).ProducesProblem(404).ProducesProblem(403).WithName("UnpublishRemotePort")
            .WithSummary("Stop publishing a port to a remote guest (any spelling of the spec)");
        app.MapGet("/networks/{network}/leases", (string network) =>
            Results.Json(endpoints.Leases(network), SwitchyardJsonContext.Default.ListLeaseInfo))
            .Produces<List<LeaseInfo>>().ProducesProblem(404).WithName("ListLeases").ServedOnHttpListener().WithSummary("Address reservations and DHCP leases");

        app.MapGet("/networks/{network}/flows", (string network, int? limit) =>
        {
            plane.Registry.Find(network);   // 404 for an unknown network, before the query is judged
            if (limit is < 1 or > FlowViews.MaxLimit) throw ApiException.BadRequest($"limit must be 1-{FlowViews.MaxLimit}");
            return Results.Json(flows.List(network, limit ?? FlowViews.DefaultLimit), SwitchyardJsonContext.Default.ListFlowInfo);
        }).Produces<List<FlowInfo>>().ProducesProblem(400).ProducesProblem(404).WithName("ListFlows").ServedOnHttpListener()
            .WithSummary("A network's NAT flows: protocol, endpoint, guest and destination, state, age, idle time, bytes each way (empty without NAT)");

        app.MapGet("/networks/{network}/egress/log", (string network, int? limit) =>
        {
            plane.Registry.Find(network);   // 404 for an unknown network
            if (limit is < 1 or > 100_000) throw ApiException.BadRequest("limit must be 1-100000");
            return Results.Json(plane.EgressLog.Read(network, limit ?? 100), SwitchyardJsonContext.Default.ListEgressEvent);
        }).Produces<List<EgressEvent>>().ProducesProblem(400).ProducesProblem(404).WithName("GetEgressLog").ServedOnHttpListener()
            .WithSummary("The newest egress decisions of a network from its audit log, oldest first");
        app.MapGet("/networks/{network}/egress/events", async (string network, HttpContext context) =>
        {
            plane.Registry.Find(network);
            await StreamEgressEvents(context, plane.EgressLog, network);
        }).Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesProblem(404).WithName("FollowEgressEvents").ServedOnHttpListener()
            .WithSummary("Egress decisions of a network as they happen (server-sent events, one JSON EgressEvent per data line)");
    }

    /// <summary>Server-sent events (the WHATWG HTML "text/event-stream" format): one <c>data:</c>
    /// line of JSON per decision, and a comment every 15 s so proxies and clients see the stream alive.</summary>
    private static async Task StreamEgressEvents(HttpContext context, EgressAuditLog log, string network)
    {
        var (events, subscription) = log.Subscribe(network);
        using var _ = subscription;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.Body.FlushAsync(context.RequestAborted);
        var ct = context.RequestAborted;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(ct);
                keepAlive.CancelAfter(TimeSpan.FromSeconds(15));
                bool more;
                try { more = await events.WaitToReadAsync(keepAlive.Token); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                    continue;
                }
                if (!more) break;
                while (events.TryRead(out var e))
                {
                    await response.WriteAsync("data: " + JsonSerializer.Serialize(e, JsonLinesContext.Default.EgressEvent) + "\n\n", ct);
                }
                await response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) { }   // the client went away
        catch (IOException) { }
    }

    /// <summary>The list filters of a request: its query parameters (each may repeat), checked as
    /// the CLI checks <c>--filter</c>; an unknown key or a bad value is a 400 that names it.</summary>
    private static ListFilter Filter(HttpRequest request, IReadOnlyList<string> keys)
    {
        var terms = request.Query.SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? "")));
        if (!ListFilter.TryCreate(terms, keys, out var filter, out var error)) throw ApiException.BadRequest(error);
        return filter;
    }

    private static readonly Dictionary<string, string> FilterHelp = new()
    {
        ["label"] = "KEY (the label is set) or KEY=VALUE; repeated, every one must match",
        ["mode"] = "nat, host, internal or bridged; repeated, any may match",
        ["name"] = "a part of the name; repeated, any may match",
        ["network"] = "a network's name, exactly; repeated, any may match",
    };

    /// <summary>Documents the filter query parameters in OpenAPI (read from the query as a whole, not bound one by one).</summary>
    private static RouteHandlerBuilder WithFilters(this RouteHandlerBuilder builder, IReadOnlyList<string> keys) =>
        builder.AddOpenApiOperationTransformer((operation, context, ct) =>
        {
            operation.Parameters ??= [];
            foreach (var key in keys)
                operation.Parameters.Add(new Microsoft.OpenApi.OpenApiParameter
                {
                    Name = key,
                    In = Microsoft.OpenApi.ParameterLocation.Query,
                    Description = FilterHelp[key] + ". Different keys must all match.",
                    Schema = new Microsoft.OpenApi.OpenApiSchema
                    {
                        Type = Microsoft.OpenApi.JsonSchemaType.Array,
                        Items = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String },
                    },
                    Style = Microsoft.OpenApi.ParameterStyle.Form,
                    Explode = true,
                });
            return Task.CompletedTask;
        });

    /// <summary>Documents a JSON request body in OpenAPI without <c>Accepts</c>, whose content-type
    /// matching would turn a body without Content-Type into a 404 instead of the 400 it deserves.</summary>
    private static RouteHandlerBuilder WithJsonBody<T>(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, ct) =>
        {
            operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(T), null, ct) },
                },
            };
        });

    /// <summary>Reads a JSON body with the source-generated contract; a body that is not valid
    /// JSON for it is a 400 that says where it broke.</summary>
    private static async Task<T> ReadBody<T>(HttpRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        if (request.ContentLength == 0) throw ApiException.BadRequest("a JSON request body is required");
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted)
                ?? throw ApiException.BadRequest("a JSON request body is required");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"invalid JSON body: {e.Message}");
        }
    }

    /// <summary>Turns <see cref="ApiException"/> and <see cref="ControlException"/> into problem+json; anything else is a 500 with
    /// the message, logged by the host.</summary>
    public static async Task ProblemMiddleware(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (ApiException e)
        {
            await WriteProblem(context, e.Status, e.Message);
        }
        catch (ControlException e)
        {
            await WriteProblem(context, ControlErrors.Status(e.Kind), e.Message);
        }
        catch (Switchyard.Daemon.State.StateUnwritableException e)
        {
            await WriteProblem(context, ControlErrors.Status(e.Fault), e.Message);   // logged once by the state writer, not per request
        }
        catch (BadHttpRequestException e)
        {
            await WriteProblem(context, e.StatusCode, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !context.Response.HasStarted)
        {
            // Still problem+json, with the reason: a client must never get an empty 500.
            context.RequestServices.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger("Switchyard.Api")
                .LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            await WriteProblem(context, StatusCodes.Status500InternalServerError, $"internal error: {e.Message}");
        }
    }

    public static Task WriteProblem(HttpContext context, int status, string detail, string? allow = null)
    {
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (allow is not null) context.Response.Headers.Allow = allow;
        context.Response.ContentType = "application/problem+json";
        var problem = new ProblemInfo
        {
            Type = "about:blank", // RFC 7807 §4.2: no more specific type than the status itself
            Title = ReasonPhrases.GetReasonPhrase(status),
            Status = status,
            Detail = detail,
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, problem, SwitchyardJsonContext.Default.ProblemInfo);
    }
}
