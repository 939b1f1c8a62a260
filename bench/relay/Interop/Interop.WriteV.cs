using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.BenchRelay;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>The most iovecs one writev(2) takes (IOV_MAX, UIO_MAXIOV on Linux).</summary>
        internal const int IOV_MAX = 1024;

        /// <summary>writev(2) on a stream socket: several length-prefixed frames in one call; returns the bytes taken.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "writev", SetLastError = true)]
        internal static unsafe partial nint WriteV(SafeSocketHandle fd, IoVec* iov, int count);

        /// <summary>recv(2) into a pinned buffer.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "recv", SetLastError = true)]
        internal static unsafe partial nint Recv(SafeSocketHandle fd, byte* buffer, nuint length, int flags);
    }
}
