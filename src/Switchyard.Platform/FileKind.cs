using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>The file type .NET does not expose: is a path a unix socket? Used before the daemon
/// replaces a stale socket file, so it never deletes anything else.</summary>
public static class FileKind
{
    private const int S_IFMT = 0xF000, S_IFSOCK = 0xC000;

    /// <summary>True only for an existing unix socket (not followed through a symlink).</summary>
    public static unsafe bool IsSocket(string path)
    {
        if (OperatingSystem.IsWindows()) return false;
        byte* stat = stackalloc byte[256];
        if (Interop.Libc.LStat(path, stat) != 0) return false;
        // st_mode: after st_dev and st_ino (and st_nlink on x86_64) on Linux; after a 32-bit st_dev on macOS.
        int mode = OperatingSystem.IsMacOS() ? *(ushort*)(stat + 4)
            : RuntimeInformation.ProcessArchitecture == Architecture.X64 ? *(int*)(stat + 24)
            : *(int*)(stat + 16);
        return (mode & S_IFMT) == S_IFSOCK;
    }
}
