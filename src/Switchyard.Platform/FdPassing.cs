using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>The daemon's side of the fd handoff: unix socket pairs, and a descriptor sent as SCM_RIGHTS
/// ancillary data (POSIX: Linux and macOS). .NET has no managed API for either. The receiving side
/// is Switchyard.Client's own (FdReceiver), so the client library needs nothing from here.
/// msghdr and cmsghdr differ in field widths between the two systems, so both are laid out by hand here:
/// Linux (LP64): msghdr { name 0, namelen 8, iov 16, iovlen 24 (size_t), control 32, controllen 40 (size_t), flags 48 } = 56 bytes,
/// cmsghdr { len 0 (size_t), level 8, type 12, data 16 }.
/// macOS: msghdr { name 0, namelen 8, iov 16, iovlen 24 (int), control 32, controllen 40 (socklen_t), flags 44 } = 48 bytes,
/// cmsghdr { len 0 (socklen_t), level 4, type 8, data 12 }.</summary>
public static class FdPassing
{
    private const int AF_UNIX = 1;
    private const int SCM_RIGHTS = 1;
    private static int SolSocket => OperatingSystem.IsLinux() ? 1 : 0xFFFF;
    private static int MsgHdrSize => OperatingSystem.IsLinux() ? 56 : 48;
    private static int CmsgDataOffset => OperatingSystem.IsLinux() ? 16 : 12;

    /// <summary>A connected pair of unix sockets of <paramref name="type"/> (Dgram or Stream). The
    /// first is wrapped as a <see cref="Socket"/> for the daemon; the second is returned as a raw
    /// fd handle to pass to another process and then close.</summary>
    public static unsafe (Socket Ours, SafeFileDescriptorHandle Theirs) CreatePair(SocketType type)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("socketpair needs a POSIX system");
        int native = type switch { SocketType.Stream => 1, SocketType.Dgram => 2, _ => throw new ArgumentOutOfRangeException(nameof(type)) };
        // SOCK_CLOEXEC (Linux): neither end leaks into a process the daemon might start.
        if (OperatingSystem.IsLinux()) native |= 0x80000;
        int* fds = stackalloc int[2];
        if (Interop.Libc.SocketPair(AF_UNIX, native, 0, fds) != 0)
            throw new PlatformException($"socketpair(AF_UNIX, {type})", Marshal.GetLastPInvokeError());
        var ours = new Socket(new SafeSocketHandle(fds[0], ownsHandle: true));
        return (ours, SafeFileDescriptorHandle.FromReturnValue(fds[1]));
    }

    /// <summary>Sends <paramref name="data"/> with <paramref name="fd"/> attached (SCM_RIGHTS).</summary>
    public static unsafe void Send(Socket socket, ReadOnlySpan<byte> data, SafeHandle fd)
    {
        bool added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            int controlLength = OperatingSystem.IsLinux() ? 24 : 16; // CMSG_SPACE(sizeof(int))
            byte* msg = stackalloc byte[MsgHdrSize];
            byte* control = stackalloc byte[controlLength];
            new Span<byte>(msg, MsgHdrSize).Clear();
            new Span<byte>(control, controlLength).Clear();
            fixed (byte* p = data)
            {
                var iov = new Interop.IoVec { Base = p, Length = (nuint)data.Length };
                WriteMsgHdr(msg, &iov, control, controlLength);
                WriteCmsg(control, (int)fd.DangerousGetHandle());
                if (Interop.Libc.SendMsg(socket.SafeHandle, msg, 0) < 0)
                    throw new PlatformException("sendmsg(SCM_RIGHTS)", Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            if (added) fd.DangerousRelease();
        }
    }

    private static unsafe void WriteMsgHdr(byte* msg, Interop.IoVec* iov, byte* control, int controlLength)
    {
        *(Interop.IoVec**)(msg + 16) = iov;
        *(void**)(msg + 32) = control;
        if (OperatingSystem.IsLinux())
        {
            *(nuint*)(msg + 24) = 1;
            *(nuint*)(msg + 40) = (nuint)controlLength;
        }
        else
        {
            *(int*)(msg + 24) = 1;
            *(uint*)(msg + 40) = (uint)controlLength;
        }
    }

    private static unsafe void WriteCmsg(byte* control, int fd)
    {
        if (OperatingSystem.IsLinux())
        {
            *(nuint*)control = 20; // CMSG_LEN(sizeof(int))
            *(int*)(control + 8) = SolSocket;
            *(int*)(control + 12) = SCM_RIGHTS;
        }
        else
        {
            *(uint*)control = 16;
            *(int*)(control + 4) = SolSocket;
            *(int*)(control + 8) = SCM_RIGHTS;
        }
        *(int*)(control + CmsgDataOffset) = fd;
    }
}
