using System.Runtime.InteropServices;

namespace Switchyard.Cni;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>setns(2): moves the calling thread into the namespace <paramref name="fd"/> refers to.</summary>
        [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
        internal static partial int SetNs(SafeHandle fd, int nstype);

        internal const int CLONE_NEWNET = 0x40000000;
    }
}
