using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Switchyard.Platform;

/// <summary>Who is at the other end of a unix socket connection, as the kernel recorded it when
/// the peer called connect(2) (socket(7): SO_PEERCRED, SO_PEERGROUPS). A process cannot lie about
/// these; they do not change when the peer later changes its ids or hands the fd on.</summary>
/// <param name="Pid">The peer's pid at connect time (for the log: it may have exited since).</param>
/// <param name="Groups">Its supplementary groups at connect time (SO_PEERGROUPS, Linux 4.13).</param>
public sealed record PeerCredentials(int Pid, uint Uid, uint Gid, IReadOnlyList<uint> Groups)
{
    private const int SOL_SOCKET = 1, SO_PEERCRED = 17, SO_PEERGROUPS = 59;

    /// <summary>Reads the credentials of <paramref name="socket"/>'s peer; <see cref="SocketException"/>
    /// when the socket is not a connected unix socket.</summary>
    [SupportedOSPlatform("linux")]
    public static PeerCredentials Read(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields in host order.
        Span<byte> ucred = stackalloc byte[12];
        int n = socket.GetRawSocketOption(SOL_SOCKET, SO_PEERCRED, ucred);
        if (n != 12) throw new SocketException((int)SocketError.InvalidArgument);
        return new PeerCredentials(MemoryMarshal.Read<int>(ucred), MemoryMarshal.Read<uint>(ucred[4..]), MemoryMarshal.Read<uint>(ucred[8..]),
            ReadGroups(socket));
    }

    /// <summary>macOS: getpeereid(3) gives the effective uid and gid only (no pid, no supplementary
    /// groups: a permission granted through one of those is not honoured there).</summary>
    [SupportedOSPlatform("macos")]
    public static unsafe PeerCredentials ReadBsd(Socket socket)
    {
        uint uid, gid;
        if (Interop.Libc.GetPeerEid((int)socket.Handle, &uid, &gid) != 0) throw PlatformException.FromLastError("getpeereid");
        return new PeerCredentials(0, uid, gid, []);
    }

    [SupportedOSPlatform("linux")]
    private static uint[] ReadGroups(Socket socket)
    {
        // A gid_t array. Most processes have a handful; NGROUPS_MAX is 65536, so a second try with
        // room for all of them covers the rest (the kernel says ERANGE when the buffer is short).
        foreach (int count in (ReadOnlySpan<int>)[64, 65536])
        {
            var buffer = new byte[count * 4];
            int n;
            try { n = socket.GetRawSocketOption(SOL_SOCKET, SO_PEERGROUPS, buffer); }
            catch (SocketException) when (count == 64) { continue; }
            var groups = new uint[n / 4];
            for (int i = 0; i < groups.Length; i++) groups[i] = MemoryMarshal.Read<uint>(buffer.AsSpan(i * 4));
            return groups;
        }
        return [];
    }
}
