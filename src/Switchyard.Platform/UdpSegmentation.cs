using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>UDP generic segmentation offload (Linux 4.18+, UDP_SEGMENT): one sendmsg(2) carries
/// many datagrams of one size (the last may be shorter) laid back to back, and the kernel cuts
/// them below the socket, once per batch instead of once per datagram through the whole stack.
/// Elsewhere (macOS, older kernels) <see cref="IsSupported"/> is false and callers send each
/// datagram on its own.</summary>
public static class UdpSegmentation
{
    /// <summary>The most datagrams one <see cref="SendSegmented"/> may carry.</summary>
    public const int MaxSegments = Interop.UdpGso.MaxSegments;

    /// <summary>The most bytes one batch may hold: a UDP payload of one IPv4 datagram (65535 - 20 - 8).</summary>
    public const int MaxBytes = 65507;

    /// <summary>Whether <paramref name="socket"/> (a UDP socket) can send segmented batches: the
    /// option is known to the kernel (setting it to 0, "off", changes nothing).</summary>
    public static unsafe bool IsSupported(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return false;
        int off = 0;
        return Interop.Libc.SetSockOpt(socket.SafeHandle, Interop.UdpGso.SOL_UDP, Interop.UdpGso.UDP_SEGMENT, &off, sizeof(int)) == 0;
    }

    /// <summary>sendmsg(2) of <paramref name="data"/> to <paramref name="address"/> as datagrams of
    /// <paramref name="segmentSize"/> bytes (the last one the rest), with MSG_DONTWAIT. Linux only.</summary>
    public static unsafe IoResult SendSegmented(Socket socket, ReadOnlySpan<byte> data, System.Net.SocketAddress address, int segmentSize)
    {
        if (!OperatingSystem.IsLinux()) return new IoResult(0, Interop.Errno.EINVAL);
        const int MsgHdrSize = 56, ControlSize = 24; // struct msghdr; CMSG_SPACE(sizeof(uint16_t))
        byte* msg = stackalloc byte[MsgHdrSize];
        byte* control = stackalloc byte[ControlSize];
        new Span<byte>(msg, MsgHdrSize).Clear();
        new Span<byte>(control, ControlSize).Clear();
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the u16 gso_size.
        *(nuint*)control = 16 + sizeof(ushort); // CMSG_LEN(2)
        *(int*)(control + 8) = Interop.UdpGso.SOL_UDP;
        *(int*)(control + 12) = Interop.UdpGso.UDP_SEGMENT;
        *(ushort*)(control + 16) = (ushort)segmentSize;
        fixed (byte* p = data)
        fixed (byte* a = address.Buffer.Span)
        {
            var iov = new Interop.IoVec { Base = p, Length = (nuint)data.Length };
            *(byte**)msg = a;                    // msg_name
            *(int*)(msg + 8) = address.Size;     // msg_namelen
            *(Interop.IoVec**)(msg + 16) = &iov; // msg_iov
            *(nuint*)(msg + 24) = 1;             // msg_iovlen
            *(byte**)(msg + 32) = control;       // msg_control
            *(nuint*)(msg + 40) = ControlSize;   // msg_controllen
            while (true)
            {
                nint n = Interop.Libc.SendMsg(socket.SafeHandle, msg, 0x40 | 0x4000); // MSG_DONTWAIT | MSG_NOSIGNAL
                if (n >= 0) return new IoResult((int)n, 0);
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
            }
        }
    }

    /// <summary>Turns on UDP generic receive offload (Linux 5.0+, UDP_GRO): datagrams of one flow
    /// that arrive together may be handed over as one buffer, cut at the size
    /// <see cref="ReceiveCoalesced"/> reports. False where the system has no such option.</summary>
    public static unsafe bool TryEnableGro(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return false;
        int on = 1;
        return Interop.Libc.SetSockOpt(socket.SafeHandle, Interop.UdpGso.SOL_UDP, Interop.UdpGso.UDP_GRO, &on, sizeof(int)) == 0;
    }

    /// <summary>recvmsg(2) with MSG_DONTWAIT on a socket with <see cref="TryEnableGro"/>: the bytes
    /// (one datagram, or several back to back), the sender in <paramref name="from"/> (its Size
    /// set), and in <paramref name="segmentSize"/> the size of each coalesced datagram but the
    /// last (0: one datagram). Linux only.</summary>
    public static unsafe IoResult ReceiveCoalesced(Socket socket, Span<byte> buffer, System.Net.SocketAddress from, out int segmentSize)
    {
        segmentSize = 0;
        if (!OperatingSystem.IsLinux()) return new IoResult(0, Interop.Errno.EINVAL);
        const int MsgHdrSize = 56, ControlSize = 64;
        byte* msg = stackalloc byte[MsgHdrSize];
        byte* control = stackalloc byte[ControlSize];
        fixed (byte* p = buffer)
        fixed (byte* a = from.Buffer.Span)
        {
            var iov = new Interop.IoVec { Base = p, Length = (nuint)buffer.Length };
            while (true)
            {
                new Span<byte>(msg, MsgHdrSize).Clear();
                *(byte**)msg = a;
                *(int*)(msg + 8) = from.Buffer.Length;
                *(Interop.IoVec**)(msg + 16) = &iov;
                *(nuint*)(msg + 24) = 1;
                *(byte**)(msg + 32) = control;
                *(nuint*)(msg + 40) = ControlSize;
                nint n = Interop.Libc.RecvMsg(socket.SafeHandle, msg, 0x40); // MSG_DONTWAIT
                if (n >= 0)
                {
                    from.Size = *(int*)(msg + 8);
                    segmentSize = GroSize(control, (int)*(nuint*)(msg + 40));
                    return new IoResult((int)n, 0);
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
            }
        }
    }

    /// <summary>The UDP_GRO control message's segment size among the control messages, or 0.</summary>
    private static unsafe int GroSize(byte* control, int length)
    {
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the data, each
        // message aligned to 8 bytes (CMSG_NXTHDR).
        for (int at = 0; at + 16 <= length;)
        {
            int len = (int)*(nuint*)(control + at);
            if (len < 16) break;
            if (*(int*)(control + at + 8) == Interop.UdpGso.SOL_UDP && *(int*)(control + at + 12) == Interop.UdpGso.UDP_GRO && len >= 20)
                return *(int*)(control + at + 16);
            at += (len + 7) & ~7;
        }
        return 0;
    }

    /// <summary>poll(2) for <paramref name="socket"/> to be readable (or to have an error queued)
    /// for at most <paramref name="timeoutMs"/>: a dedicated receive thread's wait. Linux only.</summary>
    public static unsafe bool WaitReadable(Socket socket, int timeoutMs)
    {
        bool added = false;
        var handle = socket.SafeHandle;
        handle.DangerousAddRef(ref added);
        try
        {
            var fd = new Interop.Libc.PollFd { Fd = (int)handle.DangerousGetHandle(), Events = Interop.Libc.POLLIN };
            int n = Interop.Libc.Poll(&fd, 1, timeoutMs);
            return n > 0;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
