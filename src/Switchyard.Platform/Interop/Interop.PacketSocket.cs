using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // linux/if_packet.h, linux/if_ether.h, asm-generic/socket.h.
        internal const int AF_PACKET = 17;
        internal const int SOCK_RAW = 3;
        internal const int SOCK_NONBLOCK = 0x800;
        internal const ushort ETH_P_ALL = 0x0003;
        internal const int SOL_SOCKET = 1;
        internal const int SO_ATTACH_FILTER = 26;
        internal const int SOL_PACKET = 263;
        internal const int PACKET_ADD_MEMBERSHIP = 1;
        internal const int PACKET_DROP_MEMBERSHIP = 2;
        internal const int PACKET_VNET_HDR = 15;
        internal const ushort PACKET_MR_UNICAST = 3;

        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static unsafe partial int SetSockOpt(SafeFileDescriptorHandle fd, int level, int name, void* value, int length);

        [LibraryImport(Libraries.Libc, EntryPoint = "bind", SetLastError = true)]
        internal static unsafe partial int Bind(SafeFileDescriptorHandle fd, void* address, int length);

        [LibraryImport(Libraries.Libc, EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial uint IfNameToIndex(string name);

        /// <summary>struct sockaddr_ll: 20 bytes. Protocol is big-endian.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct SockAddrLl
        {
            internal ushort Family;      // sll_family
            internal ushort Protocol;    // sll_protocol, network order
            internal int IfIndex;        // sll_ifindex
            internal ushort HaType;      // sll_hatype
            internal byte PktType;       // sll_pkttype
            internal byte HaLen;         // sll_halen
            internal fixed byte Addr[8]; // sll_addr
        }

        /// <summary>struct packet_mreq: 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct PacketMreq
        {
            internal int IfIndex;        // mr_ifindex
            internal ushort Type;        // mr_type
            internal ushort ALen;        // mr_alen
            internal fixed byte Address[8];
        }

        /// <summary>struct sock_filter (classic BPF): 8 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct SockFilter
        {
            internal ushort Code;
            internal byte Jt;
            internal byte Jf;
            internal uint K;
        }

        /// <summary>struct sock_fprog on LP64: a ushort count, padding, and the pointer (16 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct SockFprog
        {
            internal ushort Length;
            internal SockFilter* Filter;
        }
    }
}
