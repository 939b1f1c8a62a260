using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Control;
using Switchyard.Network;

namespace Switchyard.Daemon.Api;

/// <summary>Every control operation (a request that is not GET or HEAD) is logged with its caller
/// and outcome; a refusal by <see cref="CallerPolicy"/> as a warning with the reason. Reads are not
/// logged: a dashboard polls them every second.</summary>
internal static partial class CallerAudit
{
    public const string Category = "Switchyard.Callers";

    public static async Task Middleware(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpListenerGate.IsHttpListener(context))
        {
            await next(context);
            return;
        }
        var feature = context.Features.Get<CallerFeature>();
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        int status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        catch (ControlException e)
        {
            status = ControlErrors.Status(e.Kind);
            if (e.Kind == ControlError.Forbidden) Denied(logger, request.Method, request.Path, feature, e.Message);
            throw;
        }
        catch (ApiException e)
        {
            status = e.Status;
            throw;
        }
        catch (Switchyard.Daemon.State.StateUnwritableException e)
        {
            status = ControlErrors.Status(e.Fault);
            throw;
        }
        finally
        {
            var c = feature?.Caller;
            Log.Request(logger, request.Method, request.Path.Value ?? "", c?.Uid.ToString() ?? "?", c?.Gid.ToString() ?? "?", c?.Pid ?? 0, status);
        }
    }

    /// <summary>The fd handoff's request, logged like an HTTP one.</summary>
    public static void Handoff(ILogger logger, CallerFeature? feature, string network, string endpoint, int status, string? error)
    {
        var c = feature?.Caller;
        if (status == StatusCodes.Status403Forbidden) Denied(logger, "HANDOFF", $"/networks/{network}/endpoints/{endpoint}", feature, error ?? "");
        Log.Handoff(logger, network, endpoint, c?.Uid.ToString() ?? "?", c?.Gid.ToString() ?? "?", c?.Pid ?? 0, status);
    }

    private static void Denied(ILogger logger, string method, string path, CallerFeature? feature, string reason)
    {
        if (feature?.Caller is { } c) Log.Denied(logger, method, path, c.Uid, c.Pid, reason);
        else Log.Unknown(logger, method, path, feature?.Error ?? "not a unix socket connection");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.ControlRequest, Level = LogLevel.Information, Message = "{Method} {Path} by uid {Uid} (gid {Gid}, pid {Pid}): {Status}")]
        public static partial void Request(ILogger logger, string method, string path, string uid, string gid, int pid, int status);
        [LoggerMessage(EventId = LogEvents.ControlDenied, Level = LogLevel.Warning, Message = "Refused {Method} {Path} to uid {Uid} (pid {Pid}): {Reason}")]
        public static partial void Denied(ILogger logger, string method, string path, uint uid, int pid, string reason);
        [LoggerMessage(EventId = LogEvents.HandoffRequest, Level = LogLevel.Information, Message = "fd handoff for {Network}/{Endpoint} by uid {Uid} (gid {Gid}, pid {Pid}): {Status}")]
        public static partial void Handoff(ILogger logger, string network, string endpoint, string uid, string gid, int pid, int status);
        [LoggerMessage(EventId = LogEvents.CallerUnknown, Level = LogLevel.Warning, Message = "Refused {Method} {Path}: the caller's credentials could not be read ({Error})")]
        public static partial void Unknown(ILogger logger, string method, string path, string error);
    }
}
