using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
        internal static unsafe partial nint Read(SafeFileDescriptorHandle fd, byte* buffer, nint count);

        [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
        internal static unsafe partial nint Write(SafeFileDescriptorHandle fd, byte* buffer, nint count);

        /// <summary>writev(2): one frame from several pieces (a virtio_net_hdr and the frame) without copying them together.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "writev", SetLastError = true)]
        internal static unsafe partial nint WriteV(SafeFileDescriptorHandle fd, IoVec* iov, int count);
    }

    /// <summary>struct iovec { void *iov_base; size_t iov_len; }</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }
}
