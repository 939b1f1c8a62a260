using System.Runtime.InteropServices;

namespace Switchyard.BenchRelay;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>struct iovec (x86_64/arm64: 16 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct IoVec
        {
            internal byte* Base;   // offset 0
            internal nuint Length; // offset 8
        }

        /// <summary>struct msghdr (x86_64/arm64: 56 bytes; the compiler pads after NameLength and Flags).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct MsgHdr
        {
            internal void* Name;          // offset 0
            internal uint NameLength;     // offset 8, 4 bytes of padding follow
            internal IoVec* Iov;          // offset 16
            internal nuint IovLength;     // offset 24
            internal void* Control;       // offset 32
            internal nuint ControlLength; // offset 40
            internal int Flags;           // offset 48, 4 bytes of padding follow
        }

        /// <summary>struct mmsghdr: a msghdr and the byte count the kernel fills in (64 bytes with padding).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct MMsgHdr
        {
            internal MsgHdr Header;
            internal uint Length;
        }
    }
}
