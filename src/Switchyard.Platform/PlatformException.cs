using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>A failed native call. <see cref="Errno"/> is the raw errno; the message names the call and its target.</summary>
public sealed class PlatformException : IOException
{
    public PlatformException(string operation, int errno)
        : base($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    public PlatformException(string operation, int errno, Exception? innerException)
        : base($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", innerException)
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The native call and what it was applied to, e.g. "ioctl(TUNSETIFF) on /dev/net/tun".</summary>
    public string Operation { get; }

    public int Errno { get; }

    /// <summary>Builds the exception from the errno the last LibraryImport call with SetLastError saved.</summary>
    internal static PlatformException FromLastError(string operation) =>
        new(operation, Marshal.GetLastPInvokeError());
}
