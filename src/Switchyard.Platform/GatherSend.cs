using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>sendmsg(2) of several buffers at once (a gathered write, as writev(2)) with
/// MSG_DONTWAIT (and MSG_NOSIGNAL on Linux), on a stream socket: one system call for a length
/// prefix and its frame, or for every frame queued. Errors are results, as
/// <see cref="NonBlockingSocket"/>'s. Linux and macOS: the msghdr is built by hand, and the two
/// layouts agree on every field used here (msg_iovlen is a size_t on Linux and an int on macOS,
/// both little-endian at offset 24; the rest stays zero).</summary>
public static class GatherSend
{
    /// <summary>The most buffers one call takes (IOV_MAX is 1024 on both systems).</summary>
    public const int MaxBuffers = 64;

    private const int MsgHdrSize = 56;
    private static readonly int Flags = OperatingSystem.IsMacOS() ? 0x80 : 0x40 | 0x4000;

    /// <summary>Sends <paramref name="first"/> then <paramref name="second"/> (either may be empty):
    /// the bytes that went, possibly fewer than both (the rest is the caller's), or would-block.</summary>
    public static unsafe IoResult Send(Socket socket, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        fixed (byte* a = first)
        fixed (byte* b = second)
        {
            var iov = stackalloc Interop.IoVec[2];
            iov[0] = new Interop.IoVec { Base = a, Length = (nuint)first.Length };
            iov[1] = new Interop.IoVec { Base = b, Length = (nuint)second.Length };
            return Send(socket, iov, 2);
        }
    }

    /// <summary>Sends the <paramref name="lengths"/>[i] bytes at each pinned buffer
    /// <paramref name="buffers"/>[i] in order (at most <see cref="MaxBuffers"/>).</summary>
    public static unsafe IoResult Send(Socket socket, ReadOnlySpan<MemoryHandle> buffers, ReadOnlySpan<int> lengths)
    {
        int count = Math.Min(Math.Min(buffers.Length, lengths.Length), MaxBuffers);
        var iov = stackalloc Interop.IoVec[count];
        for (int i = 0; i < count; i++) iov[i] = new Interop.IoVec { Base = (byte*)buffers[i].Pointer, Length = (nuint)lengths[i] };
        return Send(socket, iov, count);
    }

    private static unsafe IoResult Send(Socket socket, Interop.IoVec* iov, int count)
    {
        byte* msg = stackalloc byte[MsgHdrSize];
        new Span<byte>(msg, MsgHdrSize).Clear();
        *(Interop.IoVec**)(msg + 16) = iov; // msg_iov
        *(int*)(msg + 24) = count;          // msg_iovlen (the low half of Linux's size_t)
        while (true)
        {
            nint n = Interop.Libc.SendMsg(socket.SafeHandle, msg, Flags);
            if (n >= 0) return new IoResult((int)n, 0);
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
        }
    }
}
