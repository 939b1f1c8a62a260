using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>chown(2); -1 leaves that id unchanged. POSIX, so also on macOS.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Chown(string path, int owner, int group);

        /// <summary>lchown(2): like chown, but a symlink itself is changed, never what it points to.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int LChown(string path, int owner, int group);

        /// <summary>getgrnam(3): a pointer to a static struct group, or null when there is no such group.
        /// struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; } on Linux and macOS alike,
        /// so gr_gid sits after two pointers.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "getgrnam", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial IntPtr GetGrNam(string name);
    }
}
