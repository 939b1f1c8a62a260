using System.Runtime.InteropServices;

namespace Switchyard.BenchRelay;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const short POLLIN = 0x001;
        internal const short POLLOUT = 0x004;

        /// <summary>struct pollfd: 8 bytes, no padding.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct PollFd
        {
            internal int Fd;        // offset 0
            internal short Events;  // offset 4
            internal short REvents; // offset 6
        }

        /// <summary>poll(2) on raw fds: the caller holds a DangerousAddRef on the handle for the duration.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "poll", SetLastError = true)]
        internal static unsafe partial int Poll(PollFd* fds, nuint count, int timeout);
    }
}
