using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Client;

/// <summary>The receiving side of the fd handoff: one message and the descriptor passed with it as SCM_RIGHTS
/// ancillary data (POSIX: Linux and macOS; .NET has no managed API for it). The daemon's sending side is
/// Switchyard.Platform's FdPassing; this library does not depend on it, so VM managers on macOS take only this.
/// msghdr and cmsghdr are laid out per system: see <see cref="Interop.LinuxMsgHdr"/> and <see cref="Interop.DarwinMsgHdr"/>.</summary>
internal static class FdReceiver
{
    // Room for one cmsghdr and several ints on either system; the daemon sends one descriptor.
    private const int ControlLength = 64;

    /// <summary>Receives one message into <paramref name="buffer"/>; a descriptor that came with it is returned in
    /// <paramref name="fd"/> (owned by the caller). Returns the byte count (0 at end of stream). A socket .NET has
    /// used asynchronously is nonblocking at the OS level, so this waits with poll(), up to 30 s.</summary>
    public static unsafe int Receive(Socket socket, Span<byte> buffer, out SafeHandle? fd)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("fd passing needs a POSIX system");
        fd = null;
        bool linux = OperatingSystem.IsLinux();
        byte* control = stackalloc byte[ControlLength];
        new Span<byte>(control, ControlLength).Clear();
        fixed (byte* p = buffer)
        {
            var iov = new Interop.IoVec { Base = p, Length = (nuint)buffer.Length };
            var linuxMsg = new Interop.LinuxMsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlLength };
            var darwinMsg = new Interop.DarwinMsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlLength };
            void* msg = linux ? &linuxMsg : (void*)&darwinMsg;
            // MSG_CMSG_CLOEXEC (Linux): the received descriptor does not leak into children; whoever hands it on
            // (yard connect) dup2()s it to the number the child expects, which clears the flag there.
            int flags = linux ? Interop.Libc.MSG_CMSG_CLOEXEC_LINUX : 0;
            nint n;
            while ((n = Interop.Libc.RecvMsg(socket.SafeHandle, msg, flags)) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is not (Interop.Libc.EAGAIN_LINUX or Interop.Libc.EAGAIN_DARWIN or Interop.Libc.EINTR))
                    throw new IOException($"recvmsg failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                if (!socket.Poll(TimeSpan.FromSeconds(30), SelectMode.SelectRead))
                    throw new IOException($"recvmsg failed: no answer within 30 s (errno {errno})");
            }
            fd = linux ? ReadLinux(control, linuxMsg.ControlLength) : ReadDarwin(control, darwinMsg.ControlLength);
            return (int)n;
        }
    }

    private static unsafe SafeHandle? ReadLinux(byte* control, nuint used)
    {
        var header = (Interop.LinuxCmsgHdr*)control;
        return used >= (nuint)(sizeof(Interop.LinuxCmsgHdr) + sizeof(int))
            && header->Level == Interop.Libc.SOL_SOCKET_LINUX && header->Type == Interop.Libc.SCM_RIGHTS
            ? new FileDescriptorHandle(*(int*)(control + sizeof(Interop.LinuxCmsgHdr)))
            : null;
    }

    private static unsafe SafeHandle? ReadDarwin(byte* control, uint used)
    {
        var header = (Interop.DarwinCmsgHdr*)control;
        return used >= (uint)(sizeof(Interop.DarwinCmsgHdr) + sizeof(int))
            && header->Level == Interop.Libc.SOL_SOCKET_DARWIN && header->Type == Interop.Libc.SCM_RIGHTS
            ? new FileDescriptorHandle(*(int*)(control + sizeof(Interop.DarwinCmsgHdr)))
            : null;
    }
}
