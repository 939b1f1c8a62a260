using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Switchyard.Platform;

/// <summary>Who owns a namespace (ioctl_ns(2)): the uids that created the user namespace owning it
/// and each of that namespace's ancestors, innermost first. Rootless podman's network namespace is
/// owned by a user namespace its user created, so that user's uid is in the list; a namespace root
/// made with <c>ip netns add</c> belongs to the initial user namespace, created by uid 0.</summary>
[SupportedOSPlatform("linux")]
public static class NamespaceOwners
{
    /// <summary>At most this many user namespaces up (the kernel allows 32 levels of nesting).</summary>
    private const int MaxDepth = 33;

    /// <summary>The owner uids of <paramref name="nsPath"/>'s user namespace and its ancestors, innermost
    /// first; <see cref="PlatformException"/> when the path is not a namespace the daemon can open.</summary>
    public static unsafe IReadOnlyList<uint> Of(string nsPath)
    {
        var owners = new List<uint>();
        using var ns = SafeFileDescriptorHandle.Open(nsPath, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC);
        var user = Next(ns, Interop.Libc.NS_GET_USERNS, $"ioctl(NS_GET_USERNS) on {nsPath}")
            ?? throw new PlatformException($"ioctl(NS_GET_USERNS) on {nsPath}", Interop.Errno.EINVAL);
        while (user is not null && owners.Count < MaxDepth)
        {
            var current = user;
            try
            {
                uint uid;
                if (Interop.Libc.Ioctl(current, Interop.Libc.NS_GET_OWNER_UID, &uid) != 0)
                    throw PlatformException.FromLastError($"ioctl(NS_GET_OWNER_UID) for {nsPath}");
                owners.Add(uid);
                // EPERM: the parent is above the daemon's own user namespace (or this is the initial one).
                user = Next(current, Interop.Libc.NS_GET_PARENT, null);
            }
            finally { current.Dispose(); }
        }
        user?.Dispose();
        return owners;
    }

    /// <summary>A new namespace fd from <paramref name="request"/>; null on EPERM when <paramref name="what"/> is null.</summary>
    private static SafeFileDescriptorHandle? Next(SafeFileDescriptorHandle fd, nuint request, string? what)
    {
        int result = Interop.Libc.Ioctl(fd, request, 0);
        if (result >= 0) return SafeFileDescriptorHandle.FromReturnValue(result);
        int errno = Marshal.GetLastPInvokeError();
        if (what is null) return null;
        throw new PlatformException(what, errno);
    }
}
