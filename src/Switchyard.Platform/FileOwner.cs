using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Switchyard.Platform;

/// <summary>A file's owner, group and mode bits (st_mode: type and permissions), as the kernel's
/// permission checks see them.</summary>
public readonly record struct FileOwner(uint Uid, uint Gid, uint Mode)
{
    private const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000;

    public bool IsDirectory => (Mode & S_IFMT) == S_IFDIR;
    public bool IsSocket => (Mode & S_IFMT) == S_IFSOCK;
    public bool IsSymlink => (Mode & S_IFMT) == S_IFLNK;
    /// <summary>The sticky bit: in such a directory (/tmp) only a file's owner or the directory's may remove or rename it.</summary>
    public bool IsSticky => (Mode & 0x200) != 0;

    /// <summary>statx(2) of <paramref name="path"/> (the link itself when <paramref name="followSymlink"/>
    /// is false); null when it does not exist or cannot be looked at.</summary>
    [SupportedOSPlatform("linux")]
    public static unsafe FileOwner? Of(string path, bool followSymlink)
    {
        byte* buffer = stackalloc byte[Interop.Libc.StatxSize];
        int flags = followSymlink ? 0 : Interop.Libc.AT_SYMLINK_NOFOLLOW;
        if (Interop.Libc.Statx(Interop.Libc.AT_FDCWD, path, flags,
                Interop.Libc.STATX_TYPE | Interop.Libc.STATX_MODE | Interop.Libc.STATX_UID | Interop.Libc.STATX_GID, buffer) != 0)
            return null;
        return new FileOwner(*(uint*)(buffer + Interop.Libc.StatxUidOffset), *(uint*)(buffer + Interop.Libc.StatxGidOffset),
            *(ushort*)(buffer + Interop.Libc.StatxModeOffset));
    }

    /// <summary>realpath(3): the path with every symlink, '.' and '..' resolved; null when a component is missing.</summary>
    public static string? CanonicalPath(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        IntPtr resolved = Interop.Libc.RealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(resolved); }
        finally { Interop.Libc.Free(resolved); }
    }
}
