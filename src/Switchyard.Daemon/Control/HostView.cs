using Switchyard.Daemon.Planning;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

/// <summary>The real host, as plans see it: /proc's routes and the host's interfaces.</summary>
internal sealed class HostView : IHostView
{
    public HostInterface BridgeInterface(string? name)
    {
        name ??= HostRoutes.DefaultRouteInterface()
            ?? throw ControlException.Invalid("the host has no default route to take the bridged interface from; name one with --mode bridged:IFACE (see yard interfaces)");
        if (!OperatingSystem.IsLinux())
            throw ControlException.Invalid("bridged networks need Linux for now (on macOS they will use vmnet's bridged mode; see docs/macos.md)");
        var iface = HostInterfaces.Find(name)
            ?? throw ControlException.Invalid($"cannot bridge to '{TransportPlanner.Printable(name)}': the host has no such interface (see yard interfaces)");
        if (!iface.CanBridge) throw ControlException.Invalid($"cannot bridge to '{iface.Name}': {iface.Reason}");
        return iface;
    }

    public IReadOnlyList<(uint Network, int PrefixLength, string Interface)> Ipv4Routes() => HostRoutes.ReadIpv4();

    public int? UnderlayMtu(System.Net.IPAddress destination) => HostRoutes.RouteMtu(destination);

    public IReadOnlyList<(Ipv6Prefix Prefix, string Interface)> Ipv6Routes() =>
        HostRoutes.ReadIpv6().Select(r => (new Ipv6Prefix(Ipv6Address.Read(r.Network), r.PrefixLength), r.Interface)).ToList();
}
