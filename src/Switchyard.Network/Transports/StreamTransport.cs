using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>A VM on a unix stream socket (<see cref="StreamConnection"/> framing). Three ways to
/// get the connection: the daemon listens on a path and takes one VM at a time, as socket_vmnet
/// does (<see cref="Listen"/>); the daemon connects to a VM that listens, retrying while it is
/// away (<see cref="Connect"/>); or one end of a socket pair handed to the VM process
/// (<see cref="FromSocket"/>). Plain frames only on the wire: there is no offload metadata there, so
/// an offloaded frame from the switch is cut into plain ones before it is written.</summary>
public sealed class StreamTransport : IFrameTransport, IReportingTransport
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly string? _listenPath;
    private readonly string? _connectPath;
    private readonly Socket? _handedOver;
    private readonly int _maxFrame;
    private readonly ILogger _logger;
    private readonly Telemetry.LogRateLimit _logLimit;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private volatile StreamConnection? _current;
    private Task? _loop;

    private StreamTransport(string? listen, string? connect, Socket? handedOver, int maxFrame, ILogger logger, string initialState, TimeProvider? time)
    {
        // Every line about this VM's connection goes through one limit: a VM that reconnects with
        // bad framing in a loop must not fill the disk with "dropped" warnings (issue 16).
        _logLimit = TransportLog.Limit(logger, listen ?? connect ?? "socket pair", time ?? TimeProvider.System);
        _listenPath = listen;
        _connectPath = connect;
        _handedOver = handedOver;
        _maxFrame = maxFrame;
        _logger = logger;
        Status = new TransportStatus(initialState);
    }

    /// <summary>Binds and listens on <paramref name="path"/> now, so a bad path fails the attach.
    /// A stale socket file is replaced; a live one is an error.</summary>
    /// <param name="time">The clock of the log rate limit (default: the system's).</param>
    public static StreamTransport Listen(string path, int maxFrame, ILogger logger, TimeProvider? time = null)
    {
        var listener = UnixSocketPaths.Listen(path, SocketType.Stream);
        return new StreamTransport(path, null, null, maxFrame, logger, "listening", time) { _listener = listener };
    }

    public static StreamTransport Connect(string path, int maxFrame, ILogger logger, TimeProvider? time = null) => new(null, path, null, maxFrame, logger, "connecting", time);

    public static StreamTransport FromSocket(Socket connected, int maxFrame, ILogger logger, TimeProvider? time = null) => new(null, null, connected, maxFrame, logger, "connected", time);

    public string Kind => _handedOver is not null ? "fd" : "stream";
    /// <summary>Offloaded frames are cut here and written in one go (<see cref="StreamSender"/>).</summary>
    public bool SupportsOffload => true;
    public TransportStatus Status { get; }
    /// <summary>Raised once when a handed-over socket's peer is gone (there is no way back).</summary>
    public event Action? Closed;

    public void Start(FrameHandler onFrame)
    {
        _loop = _listenPath is not null ? AcceptLoop(onFrame)
            : _connectPath is not null ? ConnectLoop(onFrame)
            : RunHandedOver(onFrame);
    }

    public bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload) => _current?.TrySend(frame, offload) ?? false;

    private async Task AcceptLoop(FrameHandler onFrame)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException e) { if (_logLimit.ShouldLog()) TransportLog.ConnectionLost(_logger, _listenPath!, e.SocketErrorCode.ToString()); continue; }
            await Serve(client, onFrame, _listenPath!, "listening").ConfigureAwait(false);
        }
    }

    private async Task ConnectLoop(FrameHandler onFrame)
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(_connectPath!), _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                Status.State = "connecting";
                try { await Task.Delay(RetryDelay, _stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                continue;
            }
            await Serve(socket, onFrame, _connectPath!, "connecting").ConfigureAwait(false);
            try { await Task.Delay(RetryDelay, _stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
        }
    }

    private async Task RunHandedOver(FrameHandler onFrame)
    {
        await Serve(_handedOver!, onFrame, "socket pair", "closed").ConfigureAwait(false);
        if (!_stop.IsCancellationRequested) Closed?.Invoke();
    }

    /// <summary>Runs one connection to its end. While it runs, the listener keeps further VMs
    /// waiting in its backlog: one VM per endpoint, as on a real NIC.</summary>
    private async Task Serve(Socket socket, FrameHandler onFrame, string where, string stateAfter)
    {
        using var connection = new StreamConnection(socket, _maxFrame, _logger, where, _logLimit);
        _current = connection;
        Status.Connected();
        if (_logLimit.ShouldLog()) TransportLog.Connected(_logger, where);
        string? error;
        using (_stop.Token.Register(connection.Dispose))
            error = await connection.RunAsync(onFrame).ConfigureAwait(false);
        _current = null;
        Status.Disconnected(stateAfter);
        if (error is not null)
        {
            Status.ProtocolError(error);
            if (_logLimit.ShouldLog()) TransportLog.ProtocolError(_logger, where, error);
        }
        else if (_logLimit.ShouldLog()) TransportLog.Disconnected(_logger, where);
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _current?.Dispose();
        _listener?.Dispose();
        _handedOver?.Dispose();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        if (_listenPath is not null) UnixSocketPaths.Remove(_listenPath);
        _logLimit.Dispose();
        Status.State = "closed";
    }
}
