using System.Net;
using System.Net.Sockets;
using Switchyard.Network.Transports;

namespace Switchyard.Network.Vxlan;

/// <summary>The tunnel's receive loop where the system coalesces UDP (UDP_GRO, Linux 5.0+): a
/// dedicated thread sleeps in poll(2), then recvmsg(2) drains the socket, each call taking up to
/// 64 KiB of datagrams of one sender that arrived together, cut back into datagrams at the
/// segment size the kernel reports (<see cref="Split"/>) and checked one by one as the plain loop
/// does (so the tunnel's learning table keeps one writer). The frames that pass go through a
/// <see cref="TcpCoalescer"/>: one TCP connection's in-order segments reach the switch as one
/// superframe, held until a frame that does not continue it, 64 KiB, or the socket has nothing
/// more to read (so nothing waits for a later datagram).</summary>
internal sealed class VxlanGroReceiver
{
    /// <summary>How long one poll waits before looking whether the tunnel stopped.</summary>
    private const int PollMs = 100;

    private readonly VxlanTunnel _tunnel;
    private readonly FrameHandler _onFrame, _deliver;
    private readonly TcpCoalescer _coalescer = new();
    private readonly byte[] _buffer = new byte[65536];
    private readonly SocketAddress _from;
    private readonly int _fullSize;

    public VxlanGroReceiver(VxlanTunnel tunnel, FrameHandler onFrame)
    {
        _tunnel = tunnel;
        _onFrame = onFrame;
        _deliver = Deliver;
        _from = new SocketAddress(tunnel.Socket.AddressFamily);
        _fullSize = _from.Size;
    }

    /// <summary>Runs until the tunnel stops (its own thread).</summary>
    public void Run()
    {
        while (!_tunnel.Stopping.IsCancellationRequested)
        {
            try
            {
                if (Platform.UdpSegmentation.WaitReadable(_tunnel.Socket, PollMs)) Drain();
            }
            catch (ObjectDisposedException) { return; }
        }
    }

    private void Drain()
    {
        while (!_tunnel.Stopping.IsCancellationRequested)
        {
            _from.Size = _fullSize;
            var r = Platform.UdpSegmentation.ReceiveCoalesced(_tunnel.Socket, _buffer, _from, out int segment);
            if (r.WouldBlock)
            {
                _coalescer.Flush(_deliver);
                return;
            }
            if (r.Failed)
            {
                // ICMP port unreachable for an earlier send (a peer whose daemon is down).
                _tunnel.ReceiveFailed(r.Error);
                continue;
            }
            var data = _buffer.AsSpan(0, r.Bytes);
            long now = _tunnel.Timestamp(); // one clock read for the whole train
            for (int at = 0, n; at < data.Length || at == 0; at += n)
            {
                n = Split(data.Length - at, segment);
                if (_tunnel.TryAccept(data.Slice(at, n), _from, now, out var frame)) _coalescer.Add(frame, _deliver);
                if (n == 0) break;
            }
        }
    }

    private void Deliver(ReadOnlySpan<byte> frame, in Packets.VirtioNetHeader offload) => _tunnel.Deliver(_onFrame, frame, offload);

    /// <summary>The length of the next datagram when <paramref name="remaining"/> bytes are left of
    /// a coalesced receive with segment size <paramref name="segment"/> (0: not coalesced, one datagram).</summary>
    internal static int Split(int remaining, int segment) => segment <= 0 ? remaining : Math.Min(segment, remaining);
}
