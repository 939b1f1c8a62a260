using System.Net;
using System.Net.Sockets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>One datagram for a datagram transport: its bytes (cut to the longest frame when its
/// <paramref name="length"/> as sent is longer) and, on an unconnected socket, its sender (Size
/// set). Both are valid only during the call.</summary>
internal delegate void DatagramSink(ReadOnlySpan<byte> datagram, SocketAddress from, int length);

/// <summary>The receive skeleton the unix datagram and UDP transports share. The wait is the
/// portable one: an async receive of one datagram (.NET's socket engine tries it at once and
/// sleeps in epoll/kqueue only when nothing is queued). On Linux, each wake-up then drains what
/// else is queued with recvmmsg(2), up to <see cref="DatagramBatch.Capacity"/> datagrams per call
/// straight into the batch's slots, until a call comes back short; elsewhere (macOS) every
/// datagram is its own receive, as before. Nothing is allocated per datagram and nothing is
/// copied: each datagram is handed on from the buffer the kernel wrote it into.</summary>
internal sealed class DatagramReceiveLoop
{
    /// <summary>The most bytes of receive slots (a slot per longest frame): 64 frames at MTU
    /// 1500, 4 at 65520.</summary>
    private const int BatchBytes = 256 * 1024;
    private const int MaxBatch = 64;
    /// <summary>Datagrams one wake-up takes before the loop moves to the thread pool: the daemon
    /// runs socket completions inline on .NET's socket engine thread, and a VM that keeps its
    /// socket full must not hold that thread from every other socket (the NAT's DatagramFlow
    /// has the same budget).</summary>
    private const int DrainBudget = 256;

    private readonly Socket _socket;
    private readonly int _maxFrame;
    private readonly bool _connected;
    private readonly CancellationToken _stop;

    /// <param name="socket">The bound (or connected) datagram socket, nonblocking.</param>
    /// <param name="maxFrame">The longest datagram that is a frame; longer ones come cut, with their length.</param>
    /// <param name="connected">A connected socket (a socket pair): the sender is not asked for.</param>
    /// <param name="stop">Ends the loop.</param>
    public DatagramReceiveLoop(Socket socket, int maxFrame, bool connected, CancellationToken stop)
    {
        _socket = socket;
        _maxFrame = maxFrame;
        _connected = connected;
        _stop = stop;
    }

    /// <summary>How many datagrams one recvmmsg takes for <paramref name="maxFrame"/> (0: no batching on this system).</summary>
    internal static int BatchSize(int maxFrame) =>
        DatagramBatch.IsSupported ? Math.Clamp(BatchBytes / Math.Max(maxFrame, 1), 1, MaxBatch) : 0;

    /// <summary>Receives until the socket is closed or the token is cancelled. <paramref name="onError"/>
    /// gets each receive error (an ICMP error or a refused earlier send the kernel reports here) and
    /// says whether to go on.</summary>
    public async Task Run(DatagramSink onDatagram, Func<SocketError, bool> onError)
    {
        // The first receive's buffer takes any datagram up to 64 KiB, so one longer than a frame
        // is seen whole and reported by its size.
        var first = new byte[Math.Max(_maxFrame + 1, 65536)];
        var from = _socket.AddressFamily == AddressFamily.Unix ? new SocketAddress(AddressFamily.Unix, DatagramBatch.AddressCapacity) : new SocketAddress(_socket.AddressFamily);
        int fullSize = from.Size;
        int batchSize = BatchSize(_maxFrame);
        var batch = batchSize > 0 ? new DatagramBatch(batchSize, batchSize * _maxFrame) : null;
        while (!_stop.IsCancellationRequested)
        {
            int n;
            from.Size = fullSize; // the previous receive shrank it to that sender's address
            try
            {
                n = _connected
                    ? await _socket.ReceiveAsync(first, SocketFlags.None, _stop).ConfigureAwait(false)
                    : await _socket.ReceiveFromAsync(first, SocketFlags.None, from, _stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                if (!onError(e.SocketErrorCode)) return;
                continue;
            }
            onDatagram(first.AsSpan(0, Math.Min(n, _maxFrame)), from, n);
            if (batch is null) continue;
            switch (Drain(batch, from, onDatagram, onError))
            {
                case DrainEnd.Stop: return;
                case DrainEnd.Budget: await Task.Yield(); break;
            }
        }
    }

    private enum DrainEnd { Empty, Budget, Stop }

    /// <summary>recvmmsg until a call takes fewer datagrams than it had room for (the queue was
    /// emptied), nothing is queued, or <see cref="DrainBudget"/> datagrams were taken; Stop when
    /// <paramref name="onError"/> said so or the loop is ending.</summary>
    private DrainEnd Drain(DatagramBatch batch, SocketAddress from, DatagramSink onDatagram, Func<SocketError, bool> onError)
    {
        for (int taken = 0; taken < DrainBudget;)
        {
            if (_stop.IsCancellationRequested) return DrainEnd.Stop;
            IoResult r;
            try { r = batch.Receive(_socket, _maxFrame); }
            catch (ObjectDisposedException) { return DrainEnd.Stop; }
            if (r.WouldBlock) return DrainEnd.Empty;
            // An error (reported once by the kernel) sends us back to the async wait, which
            // reports a lasting one as the plain loop always did.
            if (r.Failed) return onError(r.Error) ? DrainEnd.Empty : DrainEnd.Stop;
            for (int i = 0; i < r.Bytes; i++)
            {
                if (!_connected) batch.CopySource(i, from);
                onDatagram(batch.Datagram(i), from, batch.IsTruncated(i) ? Math.Max(batch.Length(i), _maxFrame + 1) : batch.Length(i));
            }
            if (r.Bytes < batch.Capacity) return DrainEnd.Empty;
            taken += r.Bytes;
        }
        return DrainEnd.Budget;
    }
}
