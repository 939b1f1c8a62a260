using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int AF_INET = 2;
        internal const int SOCK_DGRAM = 2;
        internal const int SOCK_CLOEXEC = 0x80000;

        // The socket is only a handle for SIOC* ioctls; the kernel resolves interface names in the network
        // namespace the socket was created in, not the caller's current one.
        // Raw int return: see Interop.Open.cs.
        [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
        internal static partial int Socket(int domain, int type, int protocol);

        /// <summary>struct sockaddr_in: 16 bytes. Port and address are in network byte order.</summary>
        [StructLayout(LayoutKind.Sequential, Size = 16)]
        internal struct SockAddrIn
        {
            internal ushort Family;   // offset 0, sa_family_t
            internal ushort Port;     // offset 2, big-endian
            internal uint Address;    // offset 4, big-endian (bytes in wire order)
            // offset 8: sin_zero[8], left zero by Size = 16

            internal static SockAddrIn FromBytes(ReadOnlySpan<byte> address) => new()
            {
                Family = AF_INET,
                // Keep wire order: reading the 4 bytes as a native uint stores them back in the same order.
                Address = MemoryMarshal.Read<uint>(address),
            };
        }
    }
}
