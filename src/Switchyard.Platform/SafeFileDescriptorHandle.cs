using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>
/// Owns a POSIX file descriptor. Unlike <see cref="Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid"/>,
/// only -1 is invalid: fd 0 is a perfectly good descriptor when stdin was closed (common for daemons).
/// </summary>
public sealed class SafeFileDescriptorHandle : SafeHandle
{
    public SafeFileDescriptorHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    /// <summary>
    /// Wraps an fd returned as a C int. Native functions returning fds are imported with an int return rather than
    /// a SafeHandle return, because the latter is marshalled as pointer-sized and a 32-bit -1 would not read as -1.
    /// </summary>
    internal static SafeFileDescriptorHandle FromReturnValue(int fd)
    {
        var handle = new SafeFileDescriptorHandle();
        handle.SetHandle(fd); // sign-extends: -1 stays -1, i.e. invalid
        return handle;
    }

    /// <summary>open(2) of <paramref name="path"/>; throws <see cref="PlatformException"/> naming the path.</summary>
    internal static SafeFileDescriptorHandle Open(string path, int flags)
    {
        var fd = FromReturnValue(Interop.Libc.Open(path, flags));
        if (fd.IsInvalid)
        {
            var errno = Marshal.GetLastPInvokeError();
            fd.Dispose();
            throw new PlatformException($"open({path})", errno);
        }
        return fd;
    }

    public override bool IsInvalid => handle == -1;

    /// <summary>The raw fd number; only meaningful while a reference is held (DangerousAddRef).</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle()
    {
        // Never retry close() on EINTR on Linux: the fd is released regardless and may already be reused.
        return Interop.Libc.Close((int)handle) == 0;
    }
}
