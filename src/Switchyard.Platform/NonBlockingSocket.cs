using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>The outcome of one non-blocking send or receive: bytes moved, or would-block, or an
/// errno. A value, not an exception: the NAT's data path meets would-block constantly.</summary>
public readonly record struct IoResult(int Bytes, int Errno)
{
    public bool WouldBlock => Errno == NonBlockingSocket.EAgain;
    public bool Failed => Errno != 0 && !WouldBlock;
    /// <summary>The errno as a <see cref="SocketError"/> (Success when none).</summary>
    public SocketError Error => NonBlockingSocket.ToSocketError(Errno);
}

/// <summary>recv(2)/send(2) with MSG_DONTWAIT on a .NET <see cref="Socket"/>, straight to the
/// system. .NET's own synchronous calls on a socket that also has async operations go through
/// its per-socket operation queue and report "would block" while that queue is not idle, even
/// with data waiting; the NAT uses .NET only to wait for readiness and moves bytes itself.
/// POSIX calls with the flag values of each system we build for (Linux, macOS).</summary>
public static class NonBlockingSocket
{
    internal static readonly int EAgain = OperatingSystem.IsMacOS() ? 35 : Interop.Errno.EAGAIN;
    private static readonly int DontWait = OperatingSystem.IsMacOS() ? 0x80 : 0x40;
    // Linux: MSG_NOSIGNAL, so a reset peer cannot raise SIGPIPE; macOS has no such flag (.NET sets SO_NOSIGPIPE there).
    private static readonly int NoSignal = OperatingSystem.IsLinux() ? 0x4000 : 0;

    /// <summary>The errnos a datagram flow branches on, as the portable <see cref="SocketError"/>
    /// (ICMP errors the kernel reports on a connected socket, and send failures); anything else
    /// is <see cref="SocketError.SocketError"/>. Linux and macOS numbers differ.</summary>
    public static SocketError ToSocketError(int errno)
    {
        if (errno == 0) return SocketError.Success;
        if (errno == EAgain) return SocketError.WouldBlock;
        bool mac = OperatingSystem.IsMacOS();
        return errno switch
        {
            1 or 13 => SocketError.AccessDenied,                         // EPERM, EACCES (same on both)
            _ when errno == (mac ? 61 : 111) => SocketError.ConnectionRefused,
            _ when errno == (mac ? 65 : 113) => SocketError.HostUnreachable,
            _ when errno == (mac ? 51 : 101) => SocketError.NetworkUnreachable,
            _ when errno == (mac ? 40 : 90) => SocketError.MessageSize,
            _ when errno == (mac ? 55 : 105) => SocketError.NoBufferSpaceAvailable,
            _ => SocketError.SocketError,
        };
    }

    public static unsafe IoResult Receive(Socket socket, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = Interop.Libc.Recv(socket.SafeHandle, p, (nuint)buffer.Length, DontWait);
                if (n >= 0) return new IoResult((int)n, 0);
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
            }
        }
    }

    public static unsafe IoResult Send(Socket socket, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            while (true)
            {
                nint n = Interop.Libc.Send(socket.SafeHandle, p, (nuint)data.Length, DontWait | NoSignal);
                if (n >= 0) return new IoResult((int)n, 0);
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
            }
        }
    }

    /// <summary>sendto(2) without connecting: a unix datagram socket that must keep accepting
    /// datagrams from anyone (a VM process that comes back on a new path) sends this way, with
    /// errors as results. <paramref name="address"/> as <see cref="System.Net.EndPoint.Serialize"/> makes it.</summary>
    public static unsafe IoResult SendTo(Socket socket, ReadOnlySpan<byte> data, System.Net.SocketAddress address)
    {
        fixed (byte* p = data)
        fixed (byte* a = address.Buffer.Span)
        {
            while (true)
            {
                nint n = Interop.Libc.SendTo(socket.SafeHandle, p, (nuint)data.Length, DontWait | NoSignal, a, address.Size);
                if (n >= 0) return new IoResult((int)n, 0);
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
            }
        }
    }
}
