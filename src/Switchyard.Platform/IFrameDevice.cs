namespace Switchyard.Platform;

/// <summary>
/// A kernel device that carries Ethernet frames through a nonblocking fd read by one thread (a TAP device, an
/// AF_PACKET socket): what one receive loop needs. Implementations are Linux-only.
/// </summary>
public interface IFrameDevice
{
    /// <summary>The size of struct virtio_net_hdr (without num_buffers), in front of every frame read or written
    /// when <see cref="VnetHeader"/> is set (TAP's IFF_VNET_HDR, AF_PACKET's PACKET_VNET_HDR).</summary>
    const int VnetHeaderLength = 10;

    /// <summary>The interface name, for logs and thread names.</summary>
    string Name { get; }

    /// <summary>Every frame read or written is preceded by a <see cref="VnetHeaderLength"/>-byte virtio_net_hdr.</summary>
    bool VnetHeader { get; }

    /// <summary>Reads one frame. Returns its length, 0 when none is queued, or -1 when the device went down or
    /// away (what that means for the reader is the device's to say). Throws <see cref="PlatformException"/> on
    /// other errors. A frame longer than <paramref name="frame"/> is truncated by the kernel.</summary>
    int Read(Span<byte> frame);

    /// <summary>Blocks until a frame (or an error) is readable: true; or until <see cref="Wake"/> is called or
    /// <paramref name="timeoutMs"/> (-1: forever) expires: false.</summary>
    bool WaitReadable(int timeoutMs);

    /// <summary>Makes a blocked (or the next) <see cref="WaitReadable"/> return false. Safe from any thread.</summary>
    void Wake();
}
