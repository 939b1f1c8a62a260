using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    /// <summary>Linux UDP segmentation offload (include/uapi/linux/udp.h, Linux 4.18+).</summary>
    internal static class UdpGso
    {
        internal const int SOL_UDP = 17;
        internal const int UDP_SEGMENT = 103;
        internal const int UDP_GRO = 104;
        /// <summary>UDP_MAX_SEGMENTS in Linux 4.18-5.x (128 later): the most datagrams one send may carry.</summary>
        internal const int MaxSegments = 64;
    }

    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static unsafe partial int SetSockOpt(SafeSocketHandle fd, int level, int name, void* value, int length);

        [LibraryImport(Libraries.Libc, EntryPoint = "recvmsg", SetLastError = true)]
        internal static unsafe partial nint RecvMsg(SafeHandle socket, byte* msghdr, int flags);
    }
}
