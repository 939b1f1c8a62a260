using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>connect(2) for a datagram socket, as a result instead of an exception. .NET's
/// <see cref="Socket.Connect(EndPoint)"/> throws, and on Linux leaves the socket unusable for
/// further connects after one failure; a dgram transport must retry its peer for as long as the
/// VM is away, so it calls the system directly.</summary>
public static class DatagramPeer
{
    /// <summary>Sets <paramref name="socket"/>'s default destination (and only source) to the
    /// address in <paramref name="address"/> (as <see cref="EndPoint.Serialize"/> makes it).
    /// Returns 0 or the errno.</summary>
    public static unsafe int TryConnect(Socket socket, SocketAddress address)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("unix datagram sockets need a POSIX system");
        fixed (byte* p = address.Buffer.Span)
        {
            return Interop.Libc.Connect(socket.SafeHandle, p, address.Size) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }
}
