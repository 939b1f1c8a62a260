using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Switching;
using Switchyard.Network.Vxlan;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>Tunnels on distinct loopback addresses (127.0.0.0/8 is all loopback on Linux; a peer
/// is recognised by its IP address, so each VTEP needs its own), the frames each one delivered,
/// and raw UDP sockets standing in for misbehaving senders.</summary>
internal sealed class VxlanTestBed : IDisposable
{
    public const uint Vni = 4242;
    public const int Mtu = 1400;
    public readonly FakeTimeProvider Clock = new();
    private readonly List<IDisposable> _owned = [];

    public sealed class Vtep(VxlanTunnel tunnel)
    {
        public VxlanTunnel Tunnel { get; } = tunnel;
        public BlockingCollection<byte[]> Received { get; } = [];

        /// <summary>Frames that came as TCP segmentation jobs (the receive side's coalescing, on
        /// Linux); <see cref="Received"/> holds their segments, cut as a port without offloads gets them.</summary>
        public int Superframes => Volatile.Read(ref _superframes);
        internal int _superframes;
        public IPEndPoint Local => Tunnel.Settings.Local;

        public byte[] Next()
        {
            Assert.True(Received.TryTake(out var frame, TimeSpan.FromSeconds(5)), $"{Tunnel.Interface} received nothing");
            return frame;
        }

        public void NothingMore() => Assert.False(Received.TryTake(out _, TimeSpan.FromMilliseconds(200)), $"{Tunnel.Interface} received a frame it should not have");
    }

    public Vtep Open(string address, params IPEndPoint[] peers)
    {
        var tunnel = VxlanTunnel.Open(new VxlanSettings(Vni, new IPEndPoint(IPAddress.Parse(address), 0), peers), Mtu, NullLogger.Instance, Clock);
        _owned.Add(tunnel);
        var vtep = new Vtep(tunnel);
        tunnel.Start((frame, in offload) =>
        {
            if (!offload.IsGso) { vtep.Received.Add(frame.ToArray()); return; }
            Interlocked.Increment(ref vtep._superframes);
            Assert.True(SoftwareOffload.Deliver(frame, offload, vtep.Received, static (received, f) => { received.Add(f.ToArray()); return true; }));
        });
        return vtep;
    }

    public Socket Raw(string address)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _owned.Add(s);
        s.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return s;
    }

    public static byte[] Frame(ulong destination, ulong source, int length = 60, byte fill = 0)
    {
        var f = new byte[length];
        new MacAddress(destination).Write(f);
        new MacAddress(source).Write(f.AsSpan(6));
        f[12] = 0x08; // IPv4
        f.AsSpan(14).Fill(fill);
        return f;
    }

    public static byte[] Encapsulate(byte[] frame, uint vni = Vni, byte flags = VxlanHeader.FlagI)
    {
        var d = new byte[VxlanHeader.Length + frame.Length];
        VxlanHeader.Write(d, vni);
        d[0] = flags;
        frame.CopyTo(d, VxlanHeader.Length);
        return d;
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }
}
