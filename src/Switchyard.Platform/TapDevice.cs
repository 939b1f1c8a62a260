using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static Switchyard.Platform.Interop.Libc;

namespace Switchyard.Platform;

/// <summary>
/// A TAP device (bare Ethernet frames, IFF_NO_PI) opened non-blocking, possibly inside another network namespace.
/// Read/Write/WaitReadable may be used from one reader and one writer thread concurrently; Dispose is safe against
/// concurrent I/O because every fd is a SafeHandle (the number cannot be reused while a call holds it).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TapDevice : IDisposable
{
    /// <summary>TAP max MTU: the kernel's tun MAX_MTU (65535) minus the Ethernet header (14).</summary>
    public const int MaxMtu = 65521;

    /// <summary>ETH_MIN_MTU, the smallest MTU an Ethernet device accepts.</summary>
    public const int MinMtu = 68;

    private const string TunPath = "/dev/net/tun";

    private readonly SafeFileDescriptorHandle _tap;
    private readonly SafeFileDescriptorHandle _wake;

    private TapDevice(SafeFileDescriptorHandle tap, SafeFileDescriptorHandle wake, string name, bool reattached, bool vnetHeader)
    {
        _tap = tap;
        _wake = wake;
        Name = name;
        Reattached = reattached;
        VnetHeader = vnetHeader;
    }

    /// <summary>Every frame read or written is preceded by a <see cref="VnetHeaderLength"/>-byte virtio_net_hdr.</summary>
    public bool VnetHeader { get; }

    /// <summary>The interface name as the kernel reports it after TUNSETIFF.</summary>
    public string Name { get; }

    /// <summary>True when a (persistent) device of this name already existed and TUNSETIFF attached to it.</summary>
    public bool Reattached { get; }

    public static TapDevice Create(TapOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        // setns() switches only the calling OS thread. A thread-pool thread would carry the foreign namespace into
        // unrelated work if anything went wrong, so all namespace-sensitive steps run on a throwaway thread.
        TapDevice? result = null;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = CreateOnCurrentThread(options);
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
        })
        {
            IsBackground = true,
            Name = "sy-tap-create",
        };
        thread.Start();
        thread.Join();

        failure?.Throw();
        return result!;
    }

    /// <summary>
    /// Reads one frame. Returns its length, 0 when no frame is queued (EAGAIN), or -1 when the device is gone
    /// (EBADFD: it was deleted, e.g. `ip link del` or its namespace vanished). Throws on other errors.
    /// A frame longer than <paramref name="frame"/> is truncated by the kernel; size the buffer to MTU + 14.
    /// </summary>
    public unsafe int Read(Span<byte> frame)
    {
        fixed (byte* p = frame)
        {
            while (true)
            {
                var n = Interop.Libc.Read(_tap, p, frame.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case Interop.Errno.EINTR:
                        continue;
                    case Interop.Errno.EAGAIN:
                        return 0;
                    case Interop.Errno.EBADFD:
                        return -1;
                    default:
                        throw new PlatformException($"read on TAP {Name}", errno);
                }
            }
        }
    }

    /// <summary>
    /// Writes one frame. Returns false when the kernel would not take it right now (EAGAIN/ENOBUFS): the caller
    /// counts a drop, like a NIC with a full ring. Throws on other errors.
    /// </summary>
    public unsafe bool Write(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            var iov = new Interop.IoVec { Base = p, Length = (nuint)frame.Length };
            return WriteV(&iov, 1);
        }
    }

    /// <summary>The size of struct virtio_net_hdr (without num_buffers), in front of every frame when
    /// <see cref="TapOptions.VnetHeader"/> is set.</summary>
    public const int VnetHeaderLength = 10;

    /// <summary>
    /// Writes one frame behind a virtio_net_hdr in a single writev(2), so neither is copied. Same results as
    /// <see cref="Write(ReadOnlySpan{byte})"/>.
    /// </summary>
    public unsafe bool Write(ReadOnlySpan<byte> vnetHeader, ReadOnlySpan<byte> frame)
    {
        fixed (byte* h = vnetHeader)
        fixed (byte* p = frame)
        {
            var iov = stackalloc Interop.IoVec[2];
            iov[0] = new Interop.IoVec { Base = h, Length = (nuint)vnetHeader.Length };
            iov[1] = new Interop.IoVec { Base = p, Length = (nuint)frame.Length };
            return WriteV(iov, 2);
        }
    }

    /// <summary>tun consumes a frame whole or not at all: true when it took it, false when it would
    /// not right now (EAGAIN/ENOBUFS, a full queue: the caller counts a drop); throws on other errors.</summary>
    private unsafe bool WriteV(Interop.IoVec* iov, int count)
    {
        while (true)
        {
            if (Interop.Libc.WriteV(_tap, iov, count) >= 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Interop.Errno.EINTR:
                    continue;
                case Interop.Errno.EAGAIN:
                case Interop.Errno.ENOBUFS:
                // The device was deleted (its namespace went away): a drop for the sender, whose
                // thread must not pay for this port's end. The reader sees it as EBADFD too.
                case Interop.Errno.EBADFD:
                case Interop.Errno.EIO:
                case Interop.Errno.ENODEV:
                    return false;
                default:
                    throw new PlatformException($"writev on TAP {Name}", errno);
            }
        }
    }

    /// <summary>
    /// Blocks until a frame is readable (true) or until <see cref="Wake"/> is called or the timeout expires (false).
    /// Also returns true on POLLERR/POLLHUP so the caller discovers the condition through <see cref="Read"/>.
    /// A timeout of -1 waits forever. A Wake() that arrived before the call makes it return false immediately;
    /// each wake-up is consumed by one WaitReadable.
    /// </summary>
    public unsafe bool WaitReadable(int timeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);

        var tapRef = false;
        var wakeRef = false;
        try
        {
            _tap.DangerousAddRef(ref tapRef);
            _wake.DangerousAddRef(ref wakeRef);

            var fds = stackalloc PollFd[2];
            var deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
            while (true)
            {
                fds[0] = new PollFd { Fd = _tap.Fd, Events = POLLIN };
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
                    throw new PlatformException($"poll on TAP {Name}", errno);
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
            if (tapRef)
            {
                _tap.DangerousRelease();
            }
        }
    }

    /// <summary>Makes a blocked (or the next) <see cref="WaitReadable"/> return false. Safe from any thread.</summary>
    public unsafe void Wake()
    {
        ulong one = 1;
        // EAGAIN means the counter is saturated, i.e. a wake-up is already pending: nothing to do.
        if (Interop.Libc.Write(_wake, (byte*)&one, sizeof(ulong)) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Interop.Errno.EAGAIN)
            {
                throw new PlatformException($"write on wake-up eventfd of TAP {Name}", errno);
            }
        }
    }

    /// <summary>
    /// TUNSETPERSIST. A persistent device survives Dispose (and the daemon) and can be re-attached by name;
    /// a non-persistent one is deleted by the kernel when the last fd closes.
    /// </summary>
    public void SetPersistent(bool persistent)
    {
        if (Ioctl(_tap, TUNSETPERSIST, persistent ? 1 : 0) < 0)
        {
            throw PlatformException.FromLastError($"ioctl(TUNSETPERSIST) on TAP {Name}");
        }
    }

    public void Dispose()
    {
        _tap.Dispose();
        _wake.Dispose();
    }

    private unsafe void DrainWake()
    {
        ulong value;
        // Non-blocking eventfd: one read resets the counter; EAGAIN means a racing WaitReadable already drained it.
        _ = Interop.Libc.Read(_wake, (byte*)&value, sizeof(ulong));
    }

    private static void Validate(TapOptions options)
    {
        ValidateIfName(options.IfName, nameof(options));

        if (options.NetnsPath is { Length: 0 })
        {
            throw new ArgumentException("NetnsPath must be null (own namespace) or a path.", nameof(options));
        }

        if (options.Mac is not { Length: 6 })
        {
            throw new ArgumentException("Mac must be 6 bytes.", nameof(options));
        }
        // The kernel rejects group (multicast) and all-zero addresses with EADDRNOTAVAIL; say so up front.
        if ((options.Mac[0] & 0x01) != 0 || options.Mac.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            throw new ArgumentException("Mac must be a non-zero unicast address.", nameof(options));
        }

        if (options.Mtu is < MinMtu or > MaxMtu)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Mtu, $"Mtu must be {MinMtu}..{MaxMtu} for a TAP device.");
        }

        if (options.Configure is { } ip)
        {
            if (ip.Address is not { Length: 4 })
            {
                throw new ArgumentException("Configure.Address must be 4 bytes.", nameof(options));
            }
            if (ip.PrefixLength is < 1 or > 32)
            {
                throw new ArgumentOutOfRangeException(nameof(options), ip.PrefixLength, "Configure.PrefixLength must be 1..32.");
            }
            if (ip.Gateway is not null and not { Length: 4 })
            {
                throw new ArgumentException("Configure.Gateway must be null or 4 bytes.", nameof(options));
            }
        }
    }

    internal static void ValidateIfName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        // IFNAMSIZ includes the NUL. '%' would make the kernel pick a name ("tap%d"), which breaks re-attach by name;
        // '/', ':' and whitespace are rejected by dev_valid_name() or confuse sysfs/aliases.
        if (name.Length is 0 or >= IFNAMSIZ || name is "." or ".." ||
            name.Any(c => c > 0x7E || c <= 0x20 || c is '/' or ':' or '%'))
        {
            throw new ArgumentException($"Invalid interface name '{name}': 1..{IFNAMSIZ - 1} printable ASCII characters, no '/', ':', '%' or whitespace.", paramName);
        }
    }

    private static TapDevice CreateOnCurrentThread(TapOptions options)
    {
        if (options.NetnsPath is null)
        {
            return OpenAndConfigure(options);
        }

        // Remember where this thread came from. /proc/thread-self, not /proc/self: the latter is the main thread's.
        using var own = OpenOrThrow(NetworkNamespace.CurrentThreadPath, O_RDONLY | O_CLOEXEC);
        using var target = OpenOrThrow(options.NetnsPath, O_RDONLY | O_CLOEXEC);

        if (SetNs(target, CLONE_NEWNET) < 0)
        {
            throw PlatformException.FromLastError($"setns(CLONE_NEWNET) to {options.NetnsPath}");
        }

        TapDevice? device = null;
        try
        {
            device = OpenAndConfigure(options);
        }
        finally
        {
            if (SetNs(own, CLONE_NEWNET) < 0)
            {
                // The thread ends right after this, so the namespace cannot leak into other work; still fail loudly,
                // since the kernel refusing to let us back is a sign something is badly wrong.
                var errno = Marshal.GetLastPInvokeError();
                device?.Dispose();
                throw new PlatformException($"setns(CLONE_NEWNET) back to own namespace from {options.NetnsPath}", errno);
            }
        }

        return device;
    }

    /// <summary>Runs in the target namespace: the tun fd and the ioctl socket bind to the namespace current at creation.</summary>
    private static TapDevice OpenAndConfigure(TapOptions options)
    {
        var where = options.NetnsPath ?? "own namespace";
        using var sock = SafeFileDescriptorHandle.FromReturnValue(Socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (sock.IsInvalid)
        {
            throw PlatformException.FromLastError($"socket(AF_INET, SOCK_DGRAM) in {where}");
        }

        // Existence check before TUNSETIFF, which silently attaches to an existing persistent device.
        var existed = InterfaceExists(sock, options.IfName, where);

        // tun binds the device to the namespace of the opener (the fd's socket is created at open time),
        // so this open must happen after setns, not before.
        var tap = OpenOrThrow(TunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        SafeFileDescriptorHandle? wake = null;
        try
        {
            string name;
            unsafe
            {
                var req = IfReq.ForName(options.IfName);
                req.Flags = (short)(IFF_TAP | IFF_NO_PI | (options.VnetHeader ? IFF_VNET_HDR : 0));
                if (Ioctl(tap, TUNSETIFF, &req) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    var hint = errno switch
                    {
                        Interop.Errno.EINVAL when existed => $" ('{options.IfName}' exists but is not a TAP device with IFF_NO_PI)",
                        Interop.Errno.EBUSY => $" ('{options.IfName}' is attached to another process)",
                        _ => string.Empty,
                    };
                    throw new PlatformException($"ioctl(TUNSETIFF, {options.IfName}) on {TunPath} in {where}{hint}", errno);
                }
                name = req.GetName();
            }

            if (options.VnetHeader)
            {
                int size = VnetHeaderLength;
                unsafe
                {
                    if (Ioctl(tap, TUNSETVNETHDRSZ, &size) < 0)
                    {
                        throw PlatformException.FromLastError($"ioctl(TUNSETVNETHDRSZ) on TAP {name} in {where}");
                    }
                }
                if (Ioctl(tap, TUNSETOFFLOAD, (nint)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0)
                {
                    throw PlatformException.FromLastError($"ioctl(TUNSETOFFLOAD) on TAP {name} in {where}");
                }
            }

            if (options.Persistent && Ioctl(tap, TUNSETPERSIST, 1) < 0)
            {
                throw PlatformException.FromLastError($"ioctl(TUNSETPERSIST) on TAP {name} in {where}");
            }

            Configure(sock, name, options, where);
            ConfigureLoopback(sock, where);

            wake = SafeFileDescriptorHandle.FromReturnValue(EventFd(0, EFD_NONBLOCK | EFD_CLOEXEC));
            if (wake.IsInvalid)
            {
                throw PlatformException.FromLastError("eventfd");
            }

            return new TapDevice(tap, wake, name, existed, options.VnetHeader);
        }
        catch
        {
            wake?.Dispose();
            tap.Dispose(); // a non-persistent device disappears with it
            throw;
        }
    }

    private static unsafe bool InterfaceExists(SafeFileDescriptorHandle sock, string name, string where)
    {
        var req = IfReq.ForName(name);
        if (Ioctl(sock, SIOCGIFINDEX, &req) == 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == Interop.Errno.ENODEV
            ? false
            : throw new PlatformException($"ioctl(SIOCGIFINDEX, {name}) in {where}", errno);
    }

    /// <summary>
    /// Idempotent: on re-attach the device may already carry the same settings; the kernel treats setting an
    /// unchanged address/netmask/MTU as a no-op, and an existing route as EEXIST.
    /// </summary>
    private static unsafe void Configure(SafeFileDescriptorHandle sock, string name, TapOptions options, string where)
    {
        // MAC first. tun marks TAP devices IFF_LIVE_ADDR_CHANGE, so this works while up (re-attach) too; if a kernel
        // says EBUSY anyway, do the classic down / change / up.
        var req = IfReq.ForName(name);
        IoctlOrThrow(sock, SIOCGIFHWADDR, &req, $"ioctl(SIOCGIFHWADDR) on {name} in {where}");
        if (!new ReadOnlySpan<byte>(req.HwData, 6).SequenceEqual(options.Mac))
        {
            req = IfReq.ForName(name);
            req.HwFamily = ARPHRD_ETHER;
            options.Mac.CopyTo(new Span<byte>(req.HwData, 6));
            if (Interop.Libc.Ioctl(sock, SIOCSIFHWADDR, &req) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EBUSY)
                {
                    throw new PlatformException($"ioctl(SIOCSIFHWADDR) on {name} in {where}", errno);
                }
                SetUp(sock, name, up: false, where);
                IoctlOrThrow(sock, SIOCSIFHWADDR, &req, $"ioctl(SIOCSIFHWADDR) on {name} in {where}");
            }
        }

        req = IfReq.ForName(name);
        req.IntValue = options.Mtu;
        IoctlOrThrow(sock, SIOCSIFMTU, &req, $"ioctl(SIOCSIFMTU, {options.Mtu}) on {name} in {where}");

        if (options.Eui64Slaac) UseEui64Slaac(name, where);

        // Up before addressing: a gateway route needs the connected route of an up interface (else ENETUNREACH).
        SetUp(sock, name, up: true, where);

        if (options.Configure is not { } ip)
        {
            return;
        }

        // SIOCSIFADDR assigns a classful netmask and SIOCSIFNETMASK then corrects it, like ifconfig does.
        req = IfReq.ForName(name);
        req.Addr = SockAddrIn.FromBytes(ip.Address);
        IoctlOrThrow(sock, SIOCSIFADDR, &req, $"ioctl(SIOCSIFADDR) on {name} in {where}");

        req = IfReq.ForName(name);
        req.Addr = SockAddrIn.FromBytes(PrefixToMask(ip.PrefixLength));
        IoctlOrThrow(sock, SIOCSIFNETMASK, &req, $"ioctl(SIOCSIFNETMASK, /{ip.PrefixLength}) on {name} in {where}");

        if (ip.Gateway is { } gw)
        {
            var dev = stackalloc byte[IFNAMSIZ];
            new Span<byte>(dev, IFNAMSIZ).Clear();
            for (var i = 0; i < name.Length; i++)
            {
                dev[i] = (byte)name[i];
            }

            var rt = default(RtEntry);
            rt.Dst = SockAddrIn.FromBytes([0, 0, 0, 0]);
            rt.Genmask = SockAddrIn.FromBytes([0, 0, 0, 0]);
            rt.Gateway = SockAddrIn.FromBytes(gw);
            rt.Flags = RTF_UP | RTF_GATEWAY;
            rt.Dev = dev;
            if (Interop.Libc.Ioctl(sock, SIOCADDRT, &rt) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EEXIST: the default route survived from before a restart (persistent device) - fine.
                if (errno != Interop.Errno.EEXIST)
                {
                    throw new PlatformException($"ioctl(SIOCADDRT, default via {string.Join('.', gw)} dev {name}) in {where}", errno);
                }
            }
        }
    }

    /// <summary>EUI-64 SLAAC without temporary addresses on <paramref name="name"/>. /proc/sys/net is the
    /// namespace of the thread that opens it, and this runs on the thread that entered the target namespace.</summary>
    private static void UseEui64Slaac(string name, string where)
    {
        foreach (var (setting, value) in new[] { ("addr_gen_mode", "0"), ("use_tempaddr", "0") })
        {
            string path = $"/proc/sys/net/ipv6/conf/{name}/{setting}";
            try { File.WriteAllText(path, value); }
            catch (DirectoryNotFoundException) { return; }   // IPv6 disabled in that namespace: nothing to set
            catch (UnauthorizedAccessException e) { throw new PlatformException($"write({path}) in {where}", 13, e); }   // EACCES
            catch (IOException e)
            {
                // .NET on Unix carries the errno in HResult for file errors; anything else is EIO.
                throw new PlatformException($"write({path}) in {where}", e.HResult is > 0 and < 4096 ? e.HResult : 5, e);
            }
        }
    }

    private static unsafe void ConfigureLoopback(SafeFileDescriptorHandle sock, string where)
    {
        // A fresh namespace has lo down; guests expect 127.0.0.1 to work.
        SetUp(sock, "lo", up: true, where);
    }

    private static unsafe void SetUp(SafeFileDescriptorHandle sock, string name, bool up, string where)
    {
        var req = IfReq.ForName(name);
        IoctlOrThrow(sock, SIOCGIFFLAGS, &req, $"ioctl(SIOCGIFFLAGS) on {name} in {where}");
        var wanted = up ? (short)(req.Flags | IFF_UP) : (short)(req.Flags & ~IFF_UP);
        if (wanted == req.Flags)
        {
            return;
        }
        req.Flags = wanted;
        IoctlOrThrow(sock, SIOCSIFFLAGS, &req, $"ioctl(SIOCSIFFLAGS, {(up ? "up" : "down")}) on {name} in {where}");
    }

    private static unsafe void IoctlOrThrow(SafeFileDescriptorHandle fd, nuint request, void* arg, string operation)
    {
        if (Interop.Libc.Ioctl(fd, request, arg) < 0)
        {
            throw PlatformException.FromLastError(operation);
        }
    }

    private static SafeFileDescriptorHandle OpenOrThrow(string path, int flags)
    {
        var fd = SafeFileDescriptorHandle.FromReturnValue(Open(path, flags));
        if (fd.IsInvalid)
        {
            var errno = Marshal.GetLastPInvokeError();
            fd.Dispose();
            throw new PlatformException($"open({path})", errno);
        }
        return fd;
    }

    private static byte[] PrefixToMask(int prefixLength)
    {
        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return [(byte)(mask >> 24), (byte)(mask >> 16), (byte)(mask >> 8), (byte)mask];
    }
}
