using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>RLIMIT_NOFILE: 7 on Linux (asm-generic, x86_64 and arm64), 8 on macOS.</summary>
        internal static int RLIMIT_NOFILE => OperatingSystem.IsMacOS() ? 8 : 7;

        /// <summary>What getrlimit(2) reports as unlimited: RLIM_INFINITY, all ones on both.</summary>
        internal const ulong RLIM_INFINITY = ulong.MaxValue;

        /// <summary>struct rlimit: rlim_t (64 bits on every target we build) soft, then hard.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct RLimit
        {
            public ulong Current;
            public ulong Maximum;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
        internal static partial int GetRLimit(int resource, out RLimit limit);

        [LibraryImport(Libraries.Libc, EntryPoint = "setrlimit", SetLastError = true)]
        internal static partial int SetRLimit(int resource, in RLimit limit);
    }
}
