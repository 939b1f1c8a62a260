using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>sendmsg(2) with a hand-built msghdr (its layout differs between Linux and macOS; see FdPassing).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "sendmsg", SetLastError = true)]
        internal static unsafe partial nint SendMsg(SafeHandle socket, byte* msghdr, int flags);
    }
}
