using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>statx(2) (Linux 4.11, glibc 2.28). Unlike struct stat, struct statx has one layout on
        /// every architecture (include/uapi/linux/stat.h), so owner and mode are read at fixed offsets.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* statxBuffer);

        internal const int AT_FDCWD = -100;
        internal const int AT_SYMLINK_NOFOLLOW = 0x100;
        internal const uint STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_UID = 0x8, STATX_GID = 0x10;
        /// <summary>sizeof(struct statx) is 256 bytes.</summary>
        internal const int StatxSize = 256;
        // struct statx: u32 stx_mask, u32 stx_blksize, u64 stx_attributes, u32 stx_nlink, u32 stx_uid, u32 stx_gid, u16 stx_mode.
        internal const int StatxUidOffset = 20, StatxGidOffset = 24, StatxModeOffset = 28;
    }
}
