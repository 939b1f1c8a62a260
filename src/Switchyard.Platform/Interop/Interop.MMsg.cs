using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    /// <summary>recvmmsg(2) and sendmmsg(2) (Linux 2.6.33 / 3.0): many datagrams in one call.
    /// struct mmsghdr is a struct msghdr followed by an unsigned int (the bytes moved), padded to
    /// 64 bytes on the 64-bit targets we ship (x86_64, arm64); macOS has neither call.</summary>
    internal static class MMsg
    {
        /// <summary>sizeof(struct msghdr) on 64-bit Linux: name (0), namelen (8), iov (16), iovlen (24),
        /// control (32), controllen (40), flags (48), 4 bytes of padding.</summary>
        internal const int MsgHdrSize = 56;
        /// <summary>sizeof(struct mmsghdr): the msghdr, msg_len at 56, 4 bytes of padding.</summary>
        internal const int Size = 64;
        internal const int NameOffset = 0, NameLengthOffset = 8, IovOffset = 16, IovLengthOffset = 24, FlagsOffset = 48, LengthOffset = 56;
        /// <summary>msg_flags: the datagram was longer than the buffer and was cut.</summary>
        internal const int MSG_TRUNC = 0x20;
        internal const int MSG_DONTWAIT = 0x40;
        internal const int MSG_NOSIGNAL = 0x4000;
    }

    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "recvmmsg", SetLastError = true)]
        internal static unsafe partial int RecvMMsg(SafeSocketHandle fd, byte* messages, uint count, int flags, void* timeout);

        [LibraryImport(Libraries.Libc, EntryPoint = "sendmmsg", SetLastError = true)]
        internal static unsafe partial int SendMMsg(SafeSocketHandle fd, byte* messages, uint count, int flags);
    }
}
