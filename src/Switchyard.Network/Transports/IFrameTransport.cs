namespace Switchyard.Network.Transports;

/// <summary>How frames reach one guest: a TAP device, a unix socket, a handed-over fd. A transport
/// runs its own receive loop and hands each frame to the switch; <see cref="TrySend"/> is called
/// from any thread and must not block (a full queue is a drop, counted by the caller).</summary>
public interface IFrameTransport : IDisposable
{
    /// <summary>"tap", "stream", "dgram", "fd".</summary>
    string Kind { get; }

    /// <summary>Starts receiving. <paramref name="onFrame"/> runs on the transport's own thread,
    /// one frame at a time; the span is valid only during the call.</summary>
    void Start(FrameHandler onFrame);

    bool TrySend(ReadOnlySpan<byte> frame);
}

public delegate void FrameHandler(ReadOnlySpan<byte> frame);
