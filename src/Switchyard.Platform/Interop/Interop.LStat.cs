using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>lstat(2) into a caller buffer large enough for any struct stat (144 bytes on
        /// Linux x86_64, 128 on arm64, 144 on macOS arm64); only st_mode is read (see FileKind).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static unsafe partial int LStat(string path, byte* statBuffer);
    }
}
