using System.Runtime.InteropServices;

namespace Switchyard.Client;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>recvmsg(2), POSIX. <paramref name="msghdr"/> points at a <see cref="LinuxMsgHdr"/> or a
        /// <see cref="DarwinMsgHdr"/>, whichever the running system lays out.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "recvmsg", SetLastError = true)]
        internal static unsafe partial nint RecvMsg(SafeHandle socket, void* msghdr, int flags);

        internal const int SCM_RIGHTS = 1;                  // both systems
        internal const int SOL_SOCKET_LINUX = 1;
        internal const int SOL_SOCKET_DARWIN = 0xFFFF;
        internal const int MSG_CMSG_CLOEXEC_LINUX = 0x40000000;
        internal const int EINTR = 4;                       // both systems
        internal const int EAGAIN_LINUX = 11;
        internal const int EAGAIN_DARWIN = 35;
    }

    // The two systems' struct msghdr and struct cmsghdr differ in field widths, so each is declared as its
    // system lays it out (64-bit only: LP64 Linux on x86_64/arm64, macOS on arm64/x86_64). Sequential layout
    // inserts the same padding the C compiler does; ClientInteropLayoutTests checks the sizes.

    /// <summary>Linux (LP64) struct msghdr, 56 bytes: name 0, namelen 8 (socklen_t, then 4 bytes padding),
    /// iov 16, iovlen 24 (size_t), control 32, controllen 40 (size_t), flags 48 (then 4 bytes padding).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct LinuxMsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>macOS struct msghdr, 48 bytes: name 0, namelen 8 (socklen_t), iov 16, iovlen 24 (int, then 4 bytes
    /// padding), control 32, controllen 40 (socklen_t), flags 44.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct DarwinMsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public int IovLength;
        public void* Control;
        public uint ControlLength;
        public int Flags;
    }

    /// <summary>Linux struct cmsghdr, 16 bytes: len 0 (size_t), level 8, type 12; the data follows at 16
    /// (CMSG_ALIGN rounds to sizeof(size_t)).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct LinuxCmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary>macOS struct cmsghdr, 12 bytes: len 0 (socklen_t), level 4, type 8; the data follows at 12
    /// (__DARWIN_ALIGN32 rounds to 4).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct DarwinCmsgHdr
    {
        public uint Length;
        public int Level;
        public int Type;
    }

    /// <summary>struct iovec { void *iov_base; size_t iov_len; }, the same on both systems.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }
}
