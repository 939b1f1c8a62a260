using Switchyard.Packets;

namespace Switchyard.Network.Transports;

/// <summary>How frames reach one guest: a TAP device, a unix socket, a handed-over fd. A transport
/// runs its own receive loop and hands each frame to the switch; <see cref="TrySend"/> is called
/// from any thread and must not block (a full queue is a drop, counted by the caller).</summary>
public interface IFrameTransport : IDisposable
{
    /// <summary>"tap", "stream", "dgram", "fd".</summary>
    string Kind { get; }

    /// <summary>Whether <see cref="TrySend"/> takes offloaded frames (partial checksums, TCP
    /// segmentation jobs); when false the switch hands it plain frames only.</summary>
    bool SupportsOffload { get; }

    /// <summary>Starts receiving. <paramref name="onFrame"/> runs on the transport's own thread,
    /// one frame at a time; the span is valid only during the call.</summary>
    void Start(FrameHandler onFrame);

    bool TrySend(ReadOnlySpan<byte> frame, in VirtioNetHeader offload);
}

/// <summary>One frame from a guest, with the offload metadata its transport read alongside
/// (<see cref="VirtioNetHeader.None"/> for plain frames).</summary>
public delegate void FrameHandler(ReadOnlySpan<byte> frame, in VirtioNetHeader offload);
