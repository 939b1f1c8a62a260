using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Switchyard.BenchRelay.Interop.Libc;

namespace Switchyard.BenchRelay;

/// <summary>
/// Waits for a socket to become readable or writable. .NET may have switched a socket's fd to O_NONBLOCK (it does
/// for async use), so a raw call can see EAGAIN even on a socket the relay treats as blocking: then it polls.
/// </summary>
internal static class SocketWait
{
    /// <summary>Blocks until <paramref name="events"/> (POLLIN or POLLOUT) or an error/hang-up is reported.</summary>
    public static unsafe void For(SafeSocketHandle socket, short events, string what)
    {
        var added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            var fd = new PollFd { Fd = (int)socket.DangerousGetHandle(), Events = events };
            while (Poll(&fd, 1, -1) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR)
                {
                    throw new IOException($"poll on {what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    public static IOException Failed(string call, string what, int errno) =>
        new($"{call} on {what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}
