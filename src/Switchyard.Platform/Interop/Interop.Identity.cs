using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>geteuid(2): the daemon's effective uid (always succeeds). POSIX, so also on macOS.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "geteuid")]
        internal static partial uint GetEUid();

        /// <summary>realpath(3) with a null buffer: a malloc'd canonical path (every symlink, '.' and
        /// '..' resolved), which the caller frees; null with errno when a component is missing.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial IntPtr RealPath(string path, IntPtr resolved);

        [LibraryImport(Libraries.Libc, EntryPoint = "free")]
        internal static partial void Free(IntPtr pointer);
    }
}

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>getpeereid(3) (BSD, macOS): the effective uid and gid of a unix socket's peer. Linux has
        /// SO_PEERCRED instead (see PeerCredentials), and glibc no getpeereid: never called there.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "getpeereid", SetLastError = true)]
        internal static unsafe partial int GetPeerEid(int fd, uint* uid, uint* gid);
    }
}
