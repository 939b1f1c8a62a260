using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>Group ownership for the API socket (POSIX: Linux and macOS).</summary>
public static class FileOwnership
{
    /// <summary>The id of a group given by name or number; <see cref="ArgumentException"/> when there is no such group.</summary>
    public static int ResolveGroup(string group)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("group ownership needs a POSIX system");
        if (int.TryParse(group, out int gid)) return gid;
        IntPtr entry = Interop.Libc.GetGrNam(group);
        if (entry == IntPtr.Zero) throw new ArgumentException($"no such group '{group}'", nameof(group));
        return Marshal.ReadInt32(entry, 2 * IntPtr.Size);
    }

    /// <summary>Gives <paramref name="path"/> to group <paramref name="group"/> (a name or a numeric id).</summary>
    public static void SetGroup(string path, string group)
    {
        int gid = ResolveGroup(group);
        if (Interop.Libc.Chown(path, -1, gid) != 0)
            throw new PlatformException($"chown({path}, group {group})", Marshal.GetLastPInvokeError());
    }

    /// <summary>Gives <paramref name="path"/> itself (not a symlink's target) to <paramref name="uid"/>:<paramref name="gid"/>.</summary>
    public static void SetOwner(string path, uint uid, uint gid)
    {
        if (Interop.Libc.LChown(path, (int)uid, (int)gid) != 0)
            throw new PlatformException($"lchown({path}, {uid}:{gid})", Marshal.GetLastPInvokeError());
    }
}
