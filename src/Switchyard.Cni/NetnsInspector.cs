using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.Versioning;

namespace Switchyard.Cni;

/// <summary>What CHECK finds inside the container's namespace: the interface, its MAC and IPv4
/// addresses, and the IPv4 default gateway.</summary>
internal sealed record NetnsView(bool InterfaceFound, string? Mac, IReadOnlyList<string> Ipv4Cidrs, string? DefaultGateway);

/// <summary>Looks into a network namespace from a thread of its own: setns(2) moves only the
/// calling thread, getifaddrs opens its netlink socket there, and /proc/thread-self/net shows that
/// thread's namespace. The thread ends afterwards, so no pool thread is ever left inside.</summary>
[SupportedOSPlatform("linux")]
internal static class NetnsInspector
{
    public static NetnsView Inspect(string netnsPath, string ifname)
    {
        NetnsView? view = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { view = InspectHere(netnsPath, ifname); }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
        return view!;
    }

    private static NetnsView InspectHere(string netnsPath, string ifname)
    {
        using (var ns = File.OpenHandle(netnsPath, FileMode.Open, FileAccess.Read))
        {
            if (Interop.Libc.SetNs(ns, Interop.Libc.CLONE_NEWNET) != 0)
                throw new CniException(CniErrors.InvalidEnvironment, $"cannot enter network namespace {netnsPath}",
                    Errno(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()));
        }
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == ifname);
        if (nic is null) return new NetnsView(false, null, [], null);
        var mac = string.Join(':', nic.GetPhysicalAddress().GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        var cidrs = nic.GetIPProperties().UnicastAddresses
            .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork)
            .Select(a => $"{a.Address}/{a.PrefixLength}").ToList();
        return new NetnsView(true, mac, cidrs, DefaultGateway(ifname));
    }

    private static string Errno(int errno) => errno switch
    {
        1 => "setns: EPERM (the plugin needs CAP_SYS_ADMIN)",
        9 => "setns: EBADF",
        22 => "setns: EINVAL (not a network namespace)",
        _ => $"setns: errno {errno} ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)})",
    };

    /// <summary>/proc/net/route: Iface, Destination, Gateway, ... in host-order hex; the default
    /// route has destination 00000000.</summary>
    private static string? DefaultGateway(string ifname)
    {
        foreach (var line in File.ReadLines("/proc/thread-self/net/route").Skip(1))
        {
            var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length < 3 || f[0] != ifname || f[1] != "00000000") continue;
            uint gw = uint.Parse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            // The kernel prints the address's bytes as one host-order word: back to those bytes.
            return new IPAddress(BitConverter.GetBytes(gw)).ToString();
        }
        return null;
    }
}
