using Switchyard.Network;
using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchyard.Client;
using Switchyard.Daemon.Control;
using Switchyard.Daemon.Api.Views;
using Switchyard.Platform;

namespace Switchyard.Daemon.Api;

/// <summary>The fd handoff on the API socket (docs/fd-handoff.md). A connection whose first byte
/// is '{' is not HTTP: it is one JSON line asking for an endpoint whose transport is a socket
/// pair; the reply is one JSON line, sent with the caller's end of the pair attached as
/// SCM_RIGHTS. Everything else goes on to HTTP untouched. This keeps one socket, one permission
/// check (the socket's mode) and one place to find the daemon.</summary>
internal static partial class FdHandoff
{
    private const int MaxRequest = 4096;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(Func<IServiceProvider> services) => next => async context =>
    {
        var input = context.Transport.Input;
        // HTTP clients speak first too; a connection that says nothing is dropped after the timeout.
        System.IO.Pipelines.ReadResult first;
        using (var firstByte = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed))
        {
            firstByte.CancelAfter(RequestTimeout);
            try { first = await input.ReadAsync(firstByte.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
        bool handoff = !first.Buffer.IsEmpty && first.Buffer.FirstSpan[0] == (byte)'{';
        input.AdvanceTo(first.Buffer.Start); // consume nothing: HTTP (or we) read it again
        if (!handoff)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is null) return;
        var sp = services();
        var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Switchyard.Handoff");
        // A caller that never finishes its line does not hold the connection for long.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
        timeout.CancelAfter(RequestTimeout);
        (FdHandoffReply Reply, SafeFileDescriptorHandle? TheirEnd) reply;
        try { reply = await Handle(input, sp.GetRequiredService<ControlPlane>().Directory, sp.GetRequiredService<EndpointViews>(), logger, timeout.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { reply = (Fail(408, $"no complete handoff request within {RequestTimeout.TotalSeconds:0} s"), null); }
        var bytes = JsonSerializer.SerializeToUtf8Bytes(reply.Reply, JsonLinesContext.Default.FdHandoffReply);
        var line = new byte[bytes.Length + 1];
        bytes.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        using (reply.TheirEnd)
        {
            try
            {
                // Straight on the socket, like the descriptor: Kestrel's output may already be
                // shut down when the caller half-closed its side.
                if (reply.TheirEnd is { } fd) FdPassing.Send(socket, line, fd);
                else await socket.SendAsync(line, System.Net.Sockets.SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is PlatformException or System.Net.Sockets.SocketException) { HandoffLog.SendFailed(logger, e.Message); }
        }
    };

    private static async Task<(FdHandoffReply Reply, SafeFileDescriptorHandle? TheirEnd)> Handle(
        System.IO.Pipelines.PipeReader input, NetworkDirectory directory, EndpointViews views, ILogger logger, CancellationToken ct)
    {
        byte[]? line = null;
        while (line is null)
        {
            var result = await input.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            var newline = buffer.PositionOf((byte)'\n');
            if (newline is { } end)
            {
                line = buffer.Slice(0, end).ToArray();
                input.AdvanceTo(buffer.GetPosition(1, end));
            }
            else if (buffer.Length > MaxRequest || result.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return (Fail(400, "a handoff request is one line of JSON ending in a newline, at most 4 KiB"), null);
            }
            else input.AdvanceTo(buffer.Start, buffer.End);
        }

        FdHandoffRequest? request;
        try { request = JsonSerializer.Deserialize(line, JsonLinesContext.Default.FdHandoffRequest); }
        catch (JsonException e) { return (Fail(400, $"invalid handoff JSON: {e.Message}"), null); }
        if (request is null || request.Handoff != 1) return (Fail(400, "not a handoff request (expected \"handoff\": 1)"), null);
        if (request.SocketType is not (null or "dgram" or "stream"))
            return (Fail(400, $"socketType must be dgram or stream, not '{request.SocketType}'"), null);
        try
        {
            var (attached, theirs) = await directory.AttachSocketPairAsync(request.Network, new EndpointAttachRequest
            {
                Name = request.Endpoint,
                Mac = request.Mac,
                Ip = request.Ip,
                Transport = new TransportSpec { Kind = "fd", Stream = request.SocketType == "stream" },
            }).ConfigureAwait(false);
            HandoffLog.HandedOver(logger, request.Network, request.Endpoint, request.SocketType ?? "dgram");
            return (new FdHandoffReply { Ok = true, Endpoint = views.Describe(attached) }, theirs);
        }
        catch (ControlException e)
        {
            return (Fail(ControlErrors.Status(e.Kind), e.Message), null);
        }
        catch (Switchyard.Daemon.State.StateUnwritableException e)
        {
            return (Fail(ControlErrors.Status(e.Fault), e.Message), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            HandoffLog.SendFailed(logger, e.Message);
            return (Fail(500, $"the daemon could not make the endpoint: {e.Message}"), null);
        }
    }

    private static FdHandoffReply Fail(int status, string error) => new() { Ok = false, Status = status, Error = error };
}

internal static partial class HandoffLog
{
    [LoggerMessage(EventId = LogEvents.SocketHandedOver, Level = LogLevel.Information, Message = "Handed a {SocketType} socket for {Network}/{Endpoint} to the caller")]
    public static partial void HandedOver(ILogger logger, string network, string endpoint, string socketType);
    [LoggerMessage(EventId = LogEvents.SocketHandoffFailed, Level = LogLevel.Warning, Message = "Sending a handed-over socket failed: {Error}")]
    public static partial void SendFailed(ILogger logger, string error);
}
