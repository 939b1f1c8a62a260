using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>
/// Owns a POSIX file descriptor. Unlike <see cref="Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid"/>,
/// only -1 is invalid: fd 0 is a perfectly good descriptor when stdin was closed (common for daemons).
/// </summary>
internal sealed class SafeFileDescriptorHandle : SafeHandle
{
    // Public parameterless constructor: the LibraryImport generator creates the handle for returned fds.
    public SafeFileDescriptorHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == -1;

    /// <summary>The raw fd number; only meaningful while a reference is held (DangerousAddRef).</summary>
    internal int Fd => (int)handle;

    protected override bool ReleaseHandle()
    {
        // Never retry close() on EINTR on Linux: the fd is released regardless and may already be reused.
        return Interop.Libc.Close((int)handle) == 0;
    }
}
