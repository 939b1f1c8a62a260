using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>The outcome of one non-blocking send or receive: bytes moved, or would-block, or an
/// errno. A value, not an exception: the NAT's data path meets would-block constantly.</summary>
public readonly record struct IoResult(int Bytes, int Errno)
{
    public bool WouldBlock => Errno == NonBlockingSocket.EAgain;
    public bool Failed => Errno != 0 && !WouldBlock;
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
}
