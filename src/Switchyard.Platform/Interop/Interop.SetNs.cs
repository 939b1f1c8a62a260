using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int CLONE_NEWNET = 0x40000000;

        // setns(2) moves only the calling OS thread into the namespace (network namespaces, unlike mount or
        // user namespaces, may be entered by a thread of a multithreaded process). Callers therefore run it on a
        // dedicated thread and always switch back.
        [LibraryImport(Libraries.Libc, EntryPoint = "setns", SetLastError = true)]
        internal static partial int SetNs(SafeFileDescriptorHandle fd, int nstype);
    }
}
