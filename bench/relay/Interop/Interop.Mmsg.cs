using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.BenchRelay;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>recvmmsg(2): block for the first datagram, then take what is queued without waiting.</summary>
        internal const int MSG_WAITFORONE = 0x10000;

        /// <summary>sendmmsg(2), Linux 3.0+: several datagrams in one call; returns how many were sent.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "sendmmsg", SetLastError = true)]
        internal static unsafe partial int SendMMsg(SafeSocketHandle fd, MMsgHdr* messages, uint count, int flags);

        /// <summary>recvmmsg(2), Linux 2.6.33+: several datagrams in one call; returns how many were received.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "recvmmsg", SetLastError = true)]
        internal static unsafe partial int RecvMMsg(SafeSocketHandle fd, MMsgHdr* messages, uint count, int flags, void* timeout);
    }
}
