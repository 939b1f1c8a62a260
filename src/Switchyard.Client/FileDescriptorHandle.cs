using System.Runtime.InteropServices;

namespace Switchyard.Client;

/// <summary>Owns a POSIX file descriptor received from the daemon. Only -1 is invalid: fd 0 is a good
/// descriptor when stdin was closed.</summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    public FileDescriptorHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    // Never retry close() on EINTR: the fd is released regardless and may already be reused.
    protected override bool ReleaseHandle() => Interop.Libc.Close((int)handle) == 0;
}
