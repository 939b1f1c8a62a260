namespace Switchyard.BenchRelay;

/// <summary>
/// The socket side of the relay: one transport's framing. Each direction is driven by its own thread (one calls
/// <see cref="Send"/>, the other <see cref="Receive"/>), as a VM's NIC has a transmit and a receive queue.
/// </summary>
internal interface IFrameLink : IDisposable
{
    /// <summary>What the link is, for messages ("stream /run/x.sock").</summary>
    string Description { get; }

    /// <summary>
    /// Sends <paramref name="batch"/>'s frames in as few calls as the framing allows, blocking while the socket is
    /// full (a VM's transmit queue stalls the same way). Returns false when the peer is gone.
    /// </summary>
    bool Send(FrameBatch batch);

    /// <summary>
    /// Blocks until at least one frame arrives, then fills <paramref name="batch"/> with every frame already there
    /// (up to its capacity). Returns the number of frames; 0 when the peer is gone or the link was closed.
    /// Throws <see cref="InvalidDataException"/> on a framing error (a length over the MTU).
    /// </summary>
    int Receive(FrameBatch batch);

    /// <summary>Frames <see cref="Send"/> lost (the peer refused them: nobody bound at its address).</summary>
    long SendDropped { get; }

    /// <summary>Messages <see cref="Receive"/> dropped (a datagram longer than MTU + 14, or shorter than an Ethernet header).</summary>
    long ReceiveDropped { get; }

    /// <summary>Makes a blocked <see cref="Receive"/> and <see cref="Send"/> return (shutdown(2)); safe from any thread.</summary>
    void Close();
}
