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
}
