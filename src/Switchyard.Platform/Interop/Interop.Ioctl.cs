using System.Runtime.InteropServices;

namespace Switchyard.Platform;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // ioctl(2) is variadic in C. On the Linux ABIs we target (x86_64 SysV, arm64 AAPCS64) a variadic pointer or
        // integer argument is passed exactly like a fixed one, so a fixed third parameter is safe. (It would not be
        // on Apple arm64, where variadics go on the stack; nothing calls this on macOS.)
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static unsafe partial int Ioctl(SafeFileDescriptorHandle fd, nuint request, void* arg);

        /// <summary>For requests such as TUNSETPERSIST whose argument is the value itself, not a pointer.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int Ioctl(SafeFileDescriptorHandle fd, nuint request, nint value);

        // Socket ioctls, include/uapi/linux/sockios.h.
        internal const nuint SIOCADDRT = 0x890B;
        internal const nuint SIOCGIFFLAGS = 0x8913;
        internal const nuint SIOCSIFFLAGS = 0x8914;
        internal const nuint SIOCGIFADDR = 0x8915;
        internal const nuint SIOCSIFADDR = 0x8916;
        internal const nuint SIOCSIFNETMASK = 0x891C;
        internal const nuint SIOCSIFMTU = 0x8922;
        internal const nuint SIOCSIFHWADDR = 0x8924;
        internal const nuint SIOCGIFHWADDR = 0x8927;
        internal const nuint SIOCGIFINDEX = 0x8933;

        // TUN ioctls, include/uapi/linux/if_tun.h: _IOW('T', 202, int) and _IOW('T', 203, int).
        internal const nuint TUNSETIFF = 0x400454CA;
        internal const nuint TUNSETPERSIST = 0x400454CB;
        // _IOW('T', 208, unsigned int): which offloads the reader can take (TUN_F_*).
        internal const nuint TUNSETOFFLOAD = 0x400454D0;
        // _IOW('T', 216, int): the size of the virtio_net_hdr in front of every frame.
        internal const nuint TUNSETVNETHDRSZ = 0x400454D8;

        // TUNSETOFFLOAD bits: partial checksums (CHECKSUM_PARTIAL) and TCP segmentation (TSO) for IPv4/IPv6.
        internal const uint TUN_F_CSUM = 0x01;
        internal const uint TUN_F_TSO4 = 0x02;
        internal const uint TUN_F_TSO6 = 0x04;

        // ifr_flags for TUNSETIFF.
        internal const short IFF_TAP = 0x0002;
        internal const short IFF_NO_PI = 0x1000; // no 4-byte packet-info header: reads/writes are bare Ethernet frames
        internal const short IFF_VNET_HDR = 0x4000; // every frame is preceded by a struct virtio_net_hdr

        // ifr_flags for SIOC[GS]IFFLAGS (net/if.h).
        internal const short IFF_UP = 0x1;

        internal const ushort ARPHRD_ETHER = 1;

        internal const int IFNAMSIZ = 16; // including the terminating NUL, so names are at most 15 bytes

        /// <summary>
        /// struct ifreq on LP64 Linux: 16-byte name followed by a 24-byte union (its largest member, struct ifmap,
        /// is 2 x unsigned long + ushort + 3 x uchar, padded to 24). Total 40 bytes; we only target 64-bit.
        /// </summary>
        [StructLayout(LayoutKind.Explicit, Size = 40)]
        internal unsafe struct IfReq
        {
            [FieldOffset(0)] internal fixed byte Name[IFNAMSIZ];   // ifr_name, NUL-terminated
            [FieldOffset(16)] internal short Flags;                // ifr_flags
            [FieldOffset(16)] internal int IntValue;               // ifr_mtu / ifr_ifindex
            [FieldOffset(16)] internal SockAddrIn Addr;            // ifr_addr / ifr_netmask (16 bytes)
            [FieldOffset(16)] internal ushort HwFamily;            // ifr_hwaddr.sa_family
            [FieldOffset(18)] internal fixed byte HwData[14];      // ifr_hwaddr.sa_data; first 6 bytes are the MAC
            // offset 32..39: rest of the union, unused here

            internal static IfReq ForName(string name)
            {
                var req = default(IfReq);
                // Callers validated: ASCII, 1..15 bytes, so the NUL terminator always fits.
                for (var i = 0; i < name.Length; i++)
                {
                    req.Name[i] = (byte)name[i];
                }
                return req;
            }

            internal string GetName()
            {
                fixed (byte* p = Name)
                {
                    return Marshal.PtrToStringUTF8((nint)p) ?? string.Empty;
                }
            }
        }

        internal const ushort RTF_UP = 0x0001;
        internal const ushort RTF_GATEWAY = 0x0002;

        /// <summary>struct rtentry (net/route.h) on LP64 Linux: 120 bytes.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 120)]
        internal unsafe struct RtEntry
        {
            // offset 0: unsigned long rt_pad1
            [FieldOffset(8)] internal SockAddrIn Dst;       // rt_dst
            [FieldOffset(24)] internal SockAddrIn Gateway;  // rt_gateway
            [FieldOffset(40)] internal SockAddrIn Genmask;  // rt_genmask
            [FieldOffset(56)] internal ushort Flags;        // rt_flags
            // offset 58: short rt_pad2; 60: 4 bytes alignment padding; 64: unsigned long rt_pad3; 72: void* rt_pad4
            [FieldOffset(80)] internal short Metric;        // rt_metric; the kernel stores (rt_metric - 1) if non-zero
            // offset 82: 6 bytes alignment padding
            [FieldOffset(88)] internal byte* Dev;           // rt_dev: NUL-terminated interface name, pins the route to it
            // offset 96: unsigned long rt_mtu; 104: unsigned long rt_window; 112: unsigned short rt_irtt (+6 padding)
        }
    }
}
