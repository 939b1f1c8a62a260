namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // Namespace ioctls, include/uapi/linux/nsfs.h (NSIO is 0xb7), on an fd of a /proc/PID/ns/* or nsfs bind mount:
        /// <summary>_IO(0xb7, 0x1): a new fd of the user namespace that owns the namespace.</summary>
        internal const nuint NS_GET_USERNS = 0xb701;
        /// <summary>_IO(0xb7, 0x2): a new fd of a user namespace's parent; EPERM above the caller's own.</summary>
        internal const nuint NS_GET_PARENT = 0xb702;
        /// <summary>_IO(0xb7, 0x4): the uid (as the caller's namespace sees it) that created a user namespace.</summary>
        internal const nuint NS_GET_OWNER_UID = 0xb704;
    }
}
