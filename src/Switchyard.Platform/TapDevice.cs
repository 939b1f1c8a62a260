using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static Switchyard.Platform.Interop.Libc;

namespace Switchyard.Platform;

/// <summary>
/// A TAP device (bare Ethernet frames, IFF_NO_PI) opened non-blocking, possibly inside another network namespace.
/// This type is the device's I/O; the namespace hop is <see cref="NetworkNamespace"/>'s and the interface's
/// configuration (addresses, route, MTU, link up, sysctls) is <see cref="LinkConfiguration"/>'s.
/// Read/Write/WaitReadable may be used from one reader and one writer thread concurrently; Dispose is safe against
/// concurrent I/O (see <see cref="WakeableFd"/>).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TapDevice : IFrameDevice, IDisposable
{
    /// <summary>TAP max MTU: the kernel's tun MAX_MTU (65535) minus the Ethernet header (14).</summary>
    public const int MaxMtu = 65521;

    /// <summary>ETH_MIN_MTU, the smallest MTU an Ethernet device accepts.</summary>
    public const int MinMtu = 68;

    /// <summary>The size of struct virtio_net_hdr (without num_buffers), in front of every frame when
    /// <see cref="TapOptions.VnetHeader"/> is set.</summary>
    public const int VnetHeaderLength = IFrameDevice.VnetHeaderLength;

    private const string TunPath = "/dev/net/tun";

    private readonly WakeableFd _fd;

    private TapDevice(WakeableFd fd, string name, bool reattached, bool vnetHeader)
    {
        _fd = fd;
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
        options.Validate();
        return NetworkNamespace.RunInside(options.NetnsPath, "sy-tap-create", () => OpenAndConfigure(options));
    }

    /// <summary>
    /// Reads one frame. Returns its length, 0 when no frame is queued (EAGAIN), or -1 when the device is gone
    /// (EBADFD: it was deleted, e.g. `ip link del` or its namespace vanished). Throws on other errors.
    /// A frame longer than <paramref name="frame"/> is truncated by the kernel; size the buffer to MTU + 14.
    /// </summary>
    public int Read(Span<byte> frame)
    {
        var n = _fd.Read(frame);
        if (n >= 0)
        {
            return n;
        }
        return -n == Interop.Errno.EBADFD ? -1 : throw new PlatformException($"read on TAP {Name}", -n);
    }

    /// <summary>
    /// Writes one frame. Returns false when the kernel would not take it right now (EAGAIN/ENOBUFS): the caller
    /// counts a drop, like a NIC with a full ring. Throws on other errors.
    /// </summary>
    public bool Write(ReadOnlySpan<byte> frame) => Written(_fd.Write(default, frame));

    /// <summary>
    /// Writes one frame behind a virtio_net_hdr in a single writev(2), so neither is copied. Same results as
    /// <see cref="Write(ReadOnlySpan{byte})"/>.
    /// </summary>
    public bool Write(ReadOnlySpan<byte> vnetHeader, ReadOnlySpan<byte> frame) => Written(_fd.Write(vnetHeader, frame));

    /// <summary>tun consumes a frame whole or not at all: true when it took it, false when it would
    /// not right now (EAGAIN/ENOBUFS, a full queue: the caller counts a drop); throws on other errors.</summary>
    private bool Written(int errno)
    {
        switch (errno)
        {
            case 0:
                return true;
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

    /// <inheritdoc cref="WakeableFd.WaitReadable"/>
    public bool WaitReadable(int timeoutMs) => _fd.WaitReadable(timeoutMs);

    /// <inheritdoc cref="WakeableFd.Wake"/>
    public void Wake() => _fd.Wake();

    /// <summary>
    /// TUNSETPERSIST. A persistent device survives Dispose (and the daemon) and can be re-attached by name;
    /// a non-persistent one is deleted by the kernel when the last fd closes.
    /// </summary>
    public void SetPersistent(bool persistent)
    {
        if (Ioctl(_fd.Handle, TUNSETPERSIST, persistent ? 1 : 0) < 0)
        {
            throw PlatformException.FromLastError($"ioctl(TUNSETPERSIST) on TAP {Name}");
        }
    }

    public void Dispose() => _fd.Dispose();

    /// <summary>Runs in the target namespace: the tun fd and the ioctl socket bind to the namespace current at creation.</summary>
    private static TapDevice OpenAndConfigure(TapOptions options)
    {
        var where = options.NetnsPath ?? "own namespace";
        using var link = LinkConfiguration.Open(where);

        // Existence check before TUNSETIFF, which silently attaches to an existing persistent device.
        var existed = link.InterfaceExists(options.IfName);

        // tun binds the device to the namespace of the opener (the fd's socket is created at open time),
        // so this open must happen after setns, not before.
        var tap = SafeFileDescriptorHandle.Open(TunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        string name;
        try
        {
            name = Attach(tap, options, existed, where);
            link.Configure(name, options);
            link.BringUpLoopback();
        }
        catch
        {
            tap.Dispose(); // a non-persistent device disappears with it
            throw;
        }

        return new TapDevice(WakeableFd.Create(tap, $"TAP {name}"), name, existed, options.VnetHeader);
    }

    /// <summary>TUNSETIFF (creating or attaching to the device), then its virtio_net_hdr and offloads, and
    /// persistence. Returns the name the kernel reports.</summary>
    private static unsafe string Attach(SafeFileDescriptorHandle tap, TapOptions options, bool existed, string where)
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
        var name = req.GetName();

        if (options.VnetHeader)
        {
            int size = VnetHeaderLength;
            if (Ioctl(tap, TUNSETVNETHDRSZ, &size) < 0)
            {
                throw PlatformException.FromLastError($"ioctl(TUNSETVNETHDRSZ) on TAP {name} in {where}");
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
        return name;
    }
}
