using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int EFD_NONBLOCK = 0x800;
        internal const int EFD_CLOEXEC = 0x80000;

        // An eventfd is the cheapest "wake up poll()" primitive: one fd, 8-byte counter, no pipe pair.
        // Raw int return: see Interop.Open.cs.
        [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
        internal static partial int EventFd(uint initval, int flags);
    }
}
