using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Switchyard.BenchRelay.Interop.Libc;

namespace Switchyard.BenchRelay;

/// <summary>
/// QEMU's stream framing (`-netdev stream`/`-netdev socket`, passt's unix socket, socket_vmnet): a 4-byte
/// big-endian length before each Ethernet frame, over a connected unix stream socket.
/// Send writes a whole batch with one writev(2) (each frame's prefix sits in its slot's headroom, so nothing is
/// copied); Receive reads as much as the socket holds into the batch's buffer and hands out the complete frames
/// where they lie, keeping a partial tail for the next call.
/// </summary>
internal sealed unsafe class StreamLink : IFrameLink
{
    private readonly Socket _socket;
    private readonly int _maxFrame;
    private IoVec[] _iov = [];
    private IoVec* _iovBase;

    // Receive state: bytes [_start, _filled) of the receive batch's buffer are read and not yet handed out.
    private int _start;
    private int _filled;

    public StreamLink(Socket socket, int maxFrame, string description)
    {
        _socket = socket;
        _maxFrame = maxFrame;
        Description = description;
    }

    public string Description { get; }

    /// <summary>A stream loses nothing: a bad length ends the link instead.</summary>
    public long SendDropped => 0;

    public long ReceiveDropped => 0;

    /// <summary>Connects to a listening unix stream socket at <paramref name="path"/> (passt's, or a daemon's --stream-listen).</summary>
    public static StreamLink Connect(string path, int maxFrame)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"connect to the stream socket {path} failed: {e.Message}", e);
        }
        return new StreamLink(socket, maxFrame, $"stream {path}");
    }

    public bool Send(FrameBatch batch)
    {
        if (_iov.Length < batch.Capacity)
        {
            _iov = GC.AllocateArray<IoVec>(batch.Capacity, pinned: true);
            _iovBase = (IoVec*)Marshal.UnsafeAddrOfPinnedArrayElement(_iov, 0);
        }
        for (var i = 0; i < batch.Count; i++)
        {
            var prefix = batch.Offsets[i] - FrameBatch.Headroom;
            BinaryPrimitives.WriteUInt32BigEndian(batch.Buffer.AsSpan(prefix, FrameBatch.Headroom), (uint)batch.Lengths[i]);
            _iovBase[i] = new IoVec { Base = batch.Base + prefix, Length = (nuint)(batch.Lengths[i] + FrameBatch.Headroom) };
        }

        // writev may take part of the batch (a full socket buffer): advance past what went and go on.
        var first = 0;
        while (first < batch.Count)
        {
            var n = WriteV(_socket.SafeHandle, _iovBase + first, Math.Min(batch.Count - first, IOV_MAX));
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Interop.Errno.EINTR)
                {
                    continue;
                }
                if (errno == Interop.Errno.EAGAIN)
                {
                    SocketWait.For(_socket.SafeHandle, POLLOUT, Description);
                    continue;
                }
                return false; // EPIPE, ECONNRESET, EBADF after Close: the peer or the link is gone
            }
            while (n > 0)
            {
                var len = (nint)_iovBase[first].Length;
                if (n >= len)
                {
                    n -= len;
                    first++;
                }
                else
                {
                    _iovBase[first].Base += n;
                    _iovBase[first].Length -= (nuint)n;
                    n = 0;
                }
            }
        }
        return true;
    }

    public int Receive(FrameBatch batch)
    {
        var buffer = batch.Buffer;
        if (_start > 0)
        {
            // The previous batch was consumed: move the partial tail to the front.
            buffer.AsSpan(_start, _filled - _start).CopyTo(buffer);
            _filled -= _start;
            _start = 0;
        }

        while (true)
        {
            var count = Parse(batch);
            if (count > 0)
            {
                return count;
            }
            int n;
            try
            {
                n = _socket.Receive(buffer.AsSpan(_filled));
            }
            catch (SocketException)
            {
                return 0; // reset, or shut down by Close
            }
            catch (ObjectDisposedException)
            {
                return 0;
            }
            if (n == 0)
            {
                return 0; // the peer closed its end
            }
            _filled += n;
        }
    }

    /// <summary>Hands out every complete frame in [_start, _filled), up to the batch's capacity.</summary>
    private int Parse(FrameBatch batch)
    {
        var count = 0;
        while (count < batch.Capacity && _filled - _start >= FrameBatch.Headroom)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(batch.Buffer.AsSpan(_start, FrameBatch.Headroom));
            if (length < 14 || length > _maxFrame)
            {
                throw new InvalidDataException(
                    $"{Description}: a frame of {length} bytes (an Ethernet frame is 14..{_maxFrame} bytes at this MTU)");
            }
            if (_filled - _start - FrameBatch.Headroom < length)
            {
                break;
            }
            batch.Offsets[count] = _start + FrameBatch.Headroom;
            batch.Lengths[count] = (int)length;
            count++;
            _start += FrameBatch.Headroom + (int)length;
        }
        batch.Count = count;
        return count;
    }

    public void Close()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // not connected any more: nothing to wake
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();
}
