using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Egress;
using Switchyard.Network.Gateway;
using Switchyard.Network.Switching;
using Switchyard.Packets;

namespace Switchyard.Network.Nat;

// Flows whose host path changed (a VPN came up or went down, a route was deleted): checked on the
// engine's timer every PathCheckPeriod, one route lookup per distinct remote.
public sealed partial class NatEngine
{
    private const int MaxPathChecks = 256;
    private long _nextPathCheck;

    /// <summary>How often flows check their host path (zero: never; tests whose sockets live in
    /// another namespace than the timer's route lookups).</summary>
    internal TimeSpan PathCheckPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Flows whose host path changed, TCP and datagram alike, with one route lookup per
    /// distinct remote: which source address would the host use now (a UDP connect: a route
    /// lookup, no packet sent)? See <see cref="CheckTcpPaths"/> and <see cref="CheckDatagramPaths{T}"/>
    /// for what each kind of flow does about it.</summary>
    internal void CheckPaths()
    {
        Dictionary<IPAddress, IPAddress?>? sources = null;   // remote -> source the host would use now (null: no route)
        CheckTcpPaths(ref sources);
        CheckDatagramPaths(_udp, ref sources);
        CheckDatagramPaths(_icmp, ref sources);
    }

    /// <summary>The source the host would use toward <paramref name="remote"/> now, asked once per
    /// check; false once <see cref="MaxPathChecks"/> remotes were asked (the rest wait for the next check).</summary>
    private static bool TryGetSource(ref Dictionary<IPAddress, IPAddress?>? sources, IPAddress remote, out IPAddress? source)
    {
        sources ??= [];
        if (sources.TryGetValue(remote, out source)) return true;
        if (sources.Count >= MaxPathChecks) return false;
        source = SourceFor(new IPEndPoint(remote, 9));
        sources[remote] = source;
        return true;
    }

    /// <summary>Established outbound flows whose path vanished (a VPN went down, a route was
    /// deleted) are reset toward the guest instead of hanging until the host kernel's own timeout
    /// (minutes). No route, or a different source address while the flow's own one is no longer on
    /// an interface that is up, means the path is gone.</summary>
    private void CheckTcpPaths(ref Dictionary<IPAddress, IPAddress?>? sources)
    {
        Dictionary<IPAddress, bool>? local = null;
        foreach (var entry in _tcp)
        {
            var flow = entry.Value;
            if (flow.HostRemote is not { } remote || flow.HostLocal is not { } bound || IPAddress.IsLoopback(remote.Address)) continue;
            if (!TryGetSource(ref sources, remote.Address, out var source)) return;
            if (source is not null && source.Equals(bound)) continue;
            if (source is not null)
            {
                local ??= [];
                if (!local.TryGetValue(bound, out bool stillLocal)) local[bound] = stillLocal = IsLocalAddress(bound);
                if (stillLocal) continue;   // the route moved but the old path may still carry it
            }
            flow.OnPathLost();
        }
    }

    private static IPAddress? SourceFor(IPEndPoint remote)
    {
        using var probe = new System.Net.Sockets.Socket(remote.AddressFamily, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        try
        {
            probe.Connect(remote);
            return (probe.LocalEndPoint as IPEndPoint)?.Address;
        }
        catch (System.Net.Sockets.SocketException) { return null; }
    }

    /// <summary>Whether <paramref name="address"/> is still on an interface of this host that is up.</summary>
    private static bool IsLocalAddress(IPAddress address)
    {
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus is not (System.Net.NetworkInformation.OperationalStatus.Up or System.Net.NetworkInformation.OperationalStatus.Unknown)) continue;
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                if (unicast.Address.Equals(address)) return true;
        }
        return false;
    }

    /// <summary>Datagram flows whose host path changed are closed; the guest's next datagram opens a
    /// socket on the route the host has now. Without this, a flow the guest keeps busy (a VPN or
    /// QUIC client inside the guest never goes idle) would stay on a source address whose interface
    /// is gone, or leak outside a VPN that came up after it. No route, or another source than the
    /// flow's, ends the flow. Unlike a TCP connection, a datagram flow loses nothing by moving: the
    /// remote sees a new source port, as after a NAT rebinding. Part of <see cref="CheckPaths"/>.</summary>
    private static void CheckDatagramPaths<T>(ConcurrentDictionary<FlowKey, T> table, ref Dictionary<IPAddress, IPAddress?>? sources) where T : DatagramFlow
    {
        foreach (var entry in table)
        {
            var flow = entry.Value;
            if (flow.HostLocal is not { } bound || bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any) || IPAddress.IsLoopback(flow.HostRemote)) continue;
            if (!TryGetSource(ref sources, flow.HostRemote, out var source)) return;
            if (source is null || !source.Equals(bound)) flow.Close();
        }
    }
}
