using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // Linux (x86_64/arm64 asm-generic) open(2) flags.
        internal const int O_RDONLY = 0x0;
        internal const int O_RDWR = 0x2;
        internal const int O_NONBLOCK = 0x800;   // 04000
        internal const int O_CLOEXEC = 0x80000;  // 02000000: the daemon spawns helpers; fds must not leak into them

        // Returns the raw int, not a SafeHandle: the generator marshals a SafeHandle return as a pointer-sized value,
        // and open() returns a 32-bit int, so -1 would arrive as 0x00000000FFFFFFFF and look valid.
        // Callers wrap the result with SafeFileDescriptorHandle.FromReturnValue immediately.
        [LibraryImport(Libraries.Libc, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Open(string path, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}
