using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static Switchyard.Platform.Interop.Libc;

namespace Switchyard.Platform;

/// <summary>
/// A nonblocking fd that carries frames (a TAP device, an AF_PACKET socket) with an eventfd beside it, so the one
/// thread that reads it can sleep in poll() and still be woken to stop. The fd's owner decides what each errno
/// means (a gone device, a drop): <see cref="Read"/> and <see cref="Write"/> return errors as results (no exception
/// and no allocation per frame); only poll and the wake-up, which fail only on a bug, throw.
/// One reader and any number of writers may use it concurrently; Dispose is safe against concurrent I/O because
/// both fds are SafeHandles (a number cannot be reused while a call holds it).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class WakeableFd : IDisposable
{
    private readonly SafeFileDescriptorHandle _fd;
    private readonly SafeFileDescriptorHandle _wake;
    private readonly string _description;

    private WakeableFd(SafeFileDescriptorHandle fd, SafeFileDescriptorHandle wake, string description)
    {
        _fd = fd;
        _wake = wake;
        _description = description;
    }

    /// <summary>Pairs <paramref name="fd"/> (opened O_NONBLOCK; ownership passes to the result, also when this throws)
    /// with a new eventfd. <paramref name="description"/> names it in errors, e.g. "TAP tap0".</summary>
    public static WakeableFd Create(SafeFileDescriptorHandle fd, string description)
    {
        var wake = SafeFileDescriptorHandle.FromReturnValue(EventFd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (wake.IsInvalid)
        {
            var error = PlatformException.FromLastError("eventfd");
            fd.Dispose();
            throw error;
        }
        return new WakeableFd(fd, wake, description);
    }

    /// <summary>The frame fd, for the owner's ioctls and socket options.</summary>
    public SafeFileDescriptorHandle Handle => _fd;

    /// <summary>One read(2): the length read, 0 when nothing is queued (EAGAIN), or the negated errno of any other
    /// failure for the owner to sort (EINTR is retried).</summary>
    public unsafe int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = Interop.Libc.Read(_fd, p, buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Interop.Errno.EINTR)
                {
                    continue;
                }
                return errno == Interop.Errno.EAGAIN ? 0 : -errno;
            }
        }
    }

    /// <summary>One writev(2) of <paramref name="header"/> (left out when empty) and <paramref name="frame"/>, so
    /// neither is copied. Returns 0 when written, else the errno (EINTR is retried; EAGAIN is returned).</summary>
    public unsafe int Write(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame)
    {
        fixed (byte* h = header)
        fixed (byte* f = frame)
        {
            var iov = stackalloc Interop.IoVec[2];
            var count = 0;
            if (!header.IsEmpty)
            {
                iov[count++] = new Interop.IoVec { Base = h, Length = (nuint)header.Length };
            }
            iov[count++] = new Interop.IoVec { Base = f, Length = (nuint)frame.Length };
            while (true)
            {
                if (WriteV(_fd, iov, count) >= 0)
                {
                    return 0;
                }
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR)
                {
                    return errno;
                }
            }
        }
    }

    /// <summary>
    /// Blocks until the fd is readable (true) or until <see cref="Wake"/> is called or the timeout expires (false).
    /// Also returns true on POLLERR/POLLHUP/POLLNVAL so the caller discovers the condition through <see cref="Read"/>.
    /// A timeout of -1 waits forever. A Wake() that arrived before the call makes it return false immediately;
    /// each wake-up is consumed by one WaitReadable.
    /// </summary>
    public unsafe bool WaitReadable(int timeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);

        var fdRef = false;
        var wakeRef = false;
        try
        {
            _fd.DangerousAddRef(ref fdRef);
            _wake.DangerousAddRef(ref wakeRef);

            var fds = stackalloc PollFd[2];
            var deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
            while (true)
            {
                fds[0] = new PollFd { Fd = _fd.Fd, Events = POLLIN };
                fds[1] = new PollFd { Fd = _wake.Fd, Events = POLLIN };
                var remaining = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
                var rc = Poll(fds, 2, remaining);
                if (rc < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    // The runtime uses signals (e.g. thread activation for GC suspension); restart with the time left.
                    if (errno == Interop.Errno.EINTR)
                    {
                        continue;
                    }
                    throw new PlatformException($"poll on {_description}", errno);
                }

                if (rc == 0)
                {
                    return false;
                }

                if ((fds[1].REvents & POLLIN) != 0)
                {
                    DrainWake();
                    return false;
                }

                return (fds[0].REvents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0;
            }
        }
        finally
        {
            if (wakeRef)
            {
                _wake.DangerousRelease();
            }
            if (fdRef)
            {
                _fd.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Makes a blocked (or the next) <see cref="WaitReadable"/> return false. Safe from any thread.
    /// EAGAIN (the counter is saturated: a wake-up is already pending) is success. Any other error throws: it can
    /// only be a bug, and swallowing it would leave the reader asleep in poll() for good, a thread that never ends
    /// behind a Stop that looked fine (PacketSocket used to ignore it; TapDevice threw, which is kept).
    /// </summary>
    public unsafe void Wake()
    {
        ulong one = 1;
        if (Interop.Libc.Write(_wake, (byte*)&one, sizeof(ulong)) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Interop.Errno.EAGAIN)
            {
                throw new PlatformException($"write on wake-up eventfd of {_description}", errno);
            }
        }
    }

    public void Dispose()
    {
        _fd.Dispose();
        _wake.Dispose();
    }

    private unsafe void DrainWake()
    {
        ulong value;
        // Non-blocking eventfd: one read resets the counter; EAGAIN means a racing WaitReadable already drained it.
        _ = Interop.Libc.Read(_wake, (byte*)&value, sizeof(ulong));
    }
}
