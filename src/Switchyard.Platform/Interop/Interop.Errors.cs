namespace Switchyard.Platform;

internal static partial class Interop
{
    /// <summary>
    /// Linux errno values we branch on. These are the asm-generic numbers, identical on x86_64 and arm64
    /// (the only Linux targets we ship); they are not valid on macOS, which is why every user is Linux-only.
    /// </summary>
    internal static class Errno
    {
        internal const int ENOENT = 2;
        internal const int EINTR = 4;
        internal const int EIO = 5;
        internal const int ENXIO = 6;
        internal const int EAGAIN = 11; // == EWOULDBLOCK
        internal const int EACCES = 13;
        internal const int EBUSY = 16;
        internal const int EEXIST = 17;
        internal const int ENODEV = 19;
        internal const int EINVAL = 22;
        internal const int EBADFD = 77; // what tun returns once the device behind the fd was deleted
        internal const int EMSGSIZE = 90;
        internal const int ENETDOWN = 100;
        internal const int ENOBUFS = 105;
    }
}
