using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "dup2", SetLastError = true)]
        internal static partial int Dup2(int oldFd, int newFd);

        /// <summary>execvp(3): argv must end with a null entry.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "execvp", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int ExecVp(string file, string?[] argv);
    }
}
