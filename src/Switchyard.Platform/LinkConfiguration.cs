using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using static Switchyard.Platform.Interop.Libc;

namespace Switchyard.Platform;

/// <summary>
/// A small ioctl-based `ip` tool for the network namespace current when it was opened: the AF_INET socket it
/// issues SIOC* requests on belongs to that namespace, and /proc/sys/net is the opening thread's namespace too.
/// Used by <see cref="TapDevice"/> to configure a guest's interface (MAC, MTU, link up, IPv4 address and default
/// route, IPv6 address generation) and its loopback. Every step is idempotent, for re-attaching a persistent device.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LinkConfiguration : IDisposable
{
    private readonly SafeFileDescriptorHandle _socket;
    private readonly string _where;

    private LinkConfiguration(SafeFileDescriptorHandle socket, string where)
    {
        _socket = socket;
        _where = where;
    }

    /// <summary>Opens the ioctl socket in the calling thread's namespace; <paramref name="where"/> names that
    /// namespace in errors.</summary>
    public static LinkConfiguration Open(string where)
    {
        var sock = SafeFileDescriptorHandle.FromReturnValue(Socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (sock.IsInvalid)
        {
            var error = PlatformException.FromLastError($"socket(AF_INET, SOCK_DGRAM) in {where}");
            sock.Dispose();
            throw error;
        }
        return new LinkConfiguration(sock, where);
    }

    /// <summary>True when an interface of this name exists in the namespace (SIOCGIFINDEX).</summary>
    public unsafe bool InterfaceExists(string name)
    {
        var req = IfReq.ForName(name);
        if (Ioctl(_socket, SIOCGIFINDEX, &req) == 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == Interop.Errno.ENODEV
            ? false
            : throw new PlatformException($"ioctl(SIOCGIFINDEX, {name}) in {_where}", errno);
    }

    /// <summary>
    /// MAC, MTU, IPv6 address generation, link up, then the IPv4 address, netmask and default route of
    /// <paramref name="options"/>. Idempotent: on re-attach the device may already carry the same settings; the
    /// kernel treats setting an unchanged address/netmask/MTU as a no-op, and an existing route as EEXIST.
    /// </summary>
    public unsafe void Configure(string name, TapOptions options)
    {
        // MAC first. tun marks TAP devices IFF_LIVE_ADDR_CHANGE, so this works while up (re-attach) too; if a kernel
        // says EBUSY anyway, do the classic down / change / up.
        var req = IfReq.ForName(name);
        IoctlOrThrow(SIOCGIFHWADDR, &req, $"ioctl(SIOCGIFHWADDR) on {name} in {_where}");
        if (!new ReadOnlySpan<byte>(req.HwData, 6).SequenceEqual(options.Mac))
        {
            req = IfReq.ForName(name);
            req.HwFamily = ARPHRD_ETHER;
            options.Mac.CopyTo(new Span<byte>(req.HwData, 6));
            if (Ioctl(_socket, SIOCSIFHWADDR, &req) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EBUSY)
                {
                    throw new PlatformException($"ioctl(SIOCSIFHWADDR) on {name} in {_where}", errno);
                }
                SetUp(name, up: false);
                IoctlOrThrow(SIOCSIFHWADDR, &req, $"ioctl(SIOCSIFHWADDR) on {name} in {_where}");
            }
        }

        req = IfReq.ForName(name);
        req.IntValue = options.Mtu;
        IoctlOrThrow(SIOCSIFMTU, &req, $"ioctl(SIOCSIFMTU, {options.Mtu}) on {name} in {_where}");

        if (options.Eui64Slaac) UseEui64Slaac(name);

        // Up before addressing: a gateway route needs the connected route of an up interface (else ENETUNREACH).
        SetUp(name, up: true);

        if (options.Configure is not { } ip)
        {
            return;
        }

        // SIOCSIFADDR assigns a classful netmask and SIOCSIFNETMASK then corrects it, like ifconfig does.
        req = IfReq.ForName(name);
        req.Addr = SockAddrIn.FromBytes(ip.Address);
        IoctlOrThrow(SIOCSIFADDR, &req, $"ioctl(SIOCSIFADDR) on {name} in {_where}");

        req = IfReq.ForName(name);
        req.Addr = SockAddrIn.FromBytes(PrefixToMask(ip.PrefixLength));
        IoctlOrThrow(SIOCSIFNETMASK, &req, $"ioctl(SIOCSIFNETMASK, /{ip.PrefixLength}) on {name} in {_where}");

        if (ip.Gateway is { } gw)
        {
            AddDefaultRoute(name, gw);
        }
    }

    /// <summary>A fresh namespace has lo down; guests expect 127.0.0.1 to work.</summary>
    public void BringUpLoopback() => SetUp("lo", up: true);

    public void Dispose() => _socket.Dispose();

    private unsafe void AddDefaultRoute(string name, byte[] gateway)
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
        rt.Gateway = SockAddrIn.FromBytes(gateway);
        rt.Flags = RTF_UP | RTF_GATEWAY;
        rt.Dev = dev;
        if (Ioctl(_socket, SIOCADDRT, &rt) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // EEXIST: the default route survived from before a restart (persistent device) - fine.
            if (errno != Interop.Errno.EEXIST)
            {
                throw new PlatformException($"ioctl(SIOCADDRT, default via {string.Join('.', gateway)} dev {name}) in {_where}", errno);
            }
        }
    }

    /// <summary>EUI-64 SLAAC without temporary addresses on <paramref name="name"/>. /proc/sys/net is the
    /// namespace of the thread that opens it, and this runs on the thread that entered the target namespace.</summary>
    private void UseEui64Slaac(string name)
    {
        foreach (var (setting, value) in new[] { ("addr_gen_mode", "0"), ("use_tempaddr", "0") })
        {
            string path = $"/proc/sys/net/ipv6/conf/{name}/{setting}";
            try { File.WriteAllText(path, value); }
            catch (DirectoryNotFoundException) { return; }   // IPv6 disabled in that namespace: nothing to set
            catch (UnauthorizedAccessException e) { throw new PlatformException($"write({path}) in {_where}", Interop.Errno.EACCES, e); }
            catch (IOException e)
            {
                // .NET on Unix carries the errno in HResult for file errors; anything else is EIO.
                throw new PlatformException($"write({path}) in {_where}", e.HResult is > 0 and < 4096 ? e.HResult : Interop.Errno.EIO, e);
            }
        }
    }

    private unsafe void SetUp(string name, bool up)
    {
        var req = IfReq.ForName(name);
        IoctlOrThrow(SIOCGIFFLAGS, &req, $"ioctl(SIOCGIFFLAGS) on {name} in {_where}");
        var wanted = up ? (short)(req.Flags | IFF_UP) : (short)(req.Flags & ~IFF_UP);
        if (wanted == req.Flags)
        {
            return;
        }
        req.Flags = wanted;
        IoctlOrThrow(SIOCSIFFLAGS, &req, $"ioctl(SIOCSIFFLAGS, {(up ? "up" : "down")}) on {name} in {_where}");
    }

    private unsafe void IoctlOrThrow(nuint request, void* arg, string operation)
    {
        if (Ioctl(_socket, request, arg) < 0)
        {
            throw PlatformException.FromLastError(operation);
        }
    }

    private static byte[] PrefixToMask(int prefixLength)
    {
        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return [(byte)(mask >> 24), (byte)(mask >> 16), (byte)(mask >> 8), (byte)mask];
    }
}
