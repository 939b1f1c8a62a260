using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Switchyard.BenchRelay.Interop.Libc;

namespace Switchyard.BenchRelay;

/// <summary>
/// One Ethernet frame per datagram, no header: QEMU `-netdev dgram` over a unix datagram socket (vfkit,
/// VZFileHandleNetworkDeviceAttachment) or UDP (`-netdev dgram` with inet addresses, libvirt's udp interface).
/// The socket is bound (so the daemon can learn where the VM is) and connected to the daemon's address, so no
/// address travels with each message. Send is one sendmmsg(2) per batch, Receive one recvmmsg(2) with
/// MSG_WAITFORONE (block for the first datagram, then take what is queued); the message headers point straight at
/// the batch's slots, so nothing is copied.
/// </summary>
internal sealed unsafe class DatagramLink : IFrameLink
{
    private readonly Socket _socket;
    private readonly string? _boundPath;
    private Headers? _send;
    private Headers? _receive;

    private DatagramLink(Socket socket, string description, string? boundPath)
    {
        _socket = socket;
        Description = description;
        _boundPath = boundPath;
    }

    public string Description { get; }

    /// <summary>Written by the sending thread only.</summary>
    public long SendDropped { get; private set; }

    /// <summary>Written by the receiving thread only.</summary>
    public long ReceiveDropped { get; private set; }

    /// <summary>A unix datagram socket bound to <paramref name="bindPath"/> (replaced if a stale file is there) and
    /// connected to <paramref name="peerPath"/> (the daemon's --dgram-listen).</summary>
    public static DatagramLink ConnectUnix(string peerPath, string bindPath, int maxFrame)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            if (File.Exists(bindPath))
            {
                File.Delete(bindPath);
            }
            socket.Bind(new UnixDomainSocketEndPoint(bindPath));
            Size(socket, maxFrame);
            socket.Connect(new UnixDomainSocketEndPoint(peerPath));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"unix datagram socket {bindPath} -> {peerPath}: {e.Message}", e);
        }
        return new DatagramLink(socket, $"dgram {peerPath}", bindPath);
    }

    /// <summary>A UDP socket bound to <paramref name="bind"/> and connected to <paramref name="peer"/> (the daemon's --udp-listen).</summary>
    public static DatagramLink ConnectUdp(IPEndPoint peer, IPEndPoint bind, int maxFrame)
    {
        var socket = new Socket(peer.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(bind);
            Size(socket, maxFrame);
            socket.Connect(peer);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"UDP socket {bind} -> {peer}: {e.Message}", e);
        }
        return new DatagramLink(socket, $"udp {peer}", null);
    }

    /// <summary>Room for a batch's worth of full frames each way (the kernel caps it at net.core.[rw]mem_max).</summary>
    private static void Size(Socket socket, int maxFrame)
    {
        var want = Math.Max(4 << 20, 64 * maxFrame);
        socket.SendBufferSize = Math.Max(socket.SendBufferSize, want);
        socket.ReceiveBufferSize = Math.Max(socket.ReceiveBufferSize, want);
    }

    /// <summary>
    /// mmsghdr and iovec arrays for a batch, made once per direction and pinned (the kernel gets pointers into them):
    /// message i has one iovec, iovec i, pointed at a frame before each call.
    /// </summary>
    private sealed class Headers
    {
        private readonly MMsgHdr[] _messages;
        private readonly IoVec[] _iov;

        public Headers(int capacity)
        {
            Capacity = capacity;
            _messages = GC.AllocateArray<MMsgHdr>(capacity, pinned: true);
            _iov = GC.AllocateArray<IoVec>(capacity, pinned: true);
            Messages = (MMsgHdr*)Marshal.UnsafeAddrOfPinnedArrayElement(_messages, 0);
            Iov = (IoVec*)Marshal.UnsafeAddrOfPinnedArrayElement(_iov, 0);
            for (var i = 0; i < capacity; i++)
            {
                Messages[i] = new MMsgHdr { Header = new MsgHdr { Iov = Iov + i, IovLength = 1 } };
            }
        }

        public int Capacity { get; }

        public MMsgHdr* Messages { get; }

        public IoVec* Iov { get; }
    }

    private static Headers For(ref Headers? headers, FrameBatch batch) =>
        headers is { } h && h.Capacity >= batch.Capacity ? h : headers = new Headers(batch.Capacity);

    public bool Send(FrameBatch batch)
    {
        var h = For(ref _send, batch);
        for (var i = 0; i < batch.Count; i++)
        {
            h.Iov[i] = new IoVec { Base = batch.Base + batch.Offsets[i], Length = (nuint)batch.Lengths[i] };
        }

        var first = 0;
        while (first < batch.Count)
        {
            var n = SendMMsg(_socket.SafeHandle, h.Messages + first, (uint)(batch.Count - first), 0);
            if (n >= 0)
            {
                first += n;
                continue;
            }
            var errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Interop.Errno.EINTR:
                    continue;
                case Interop.Errno.EAGAIN:
                    SocketWait.For(_socket.SafeHandle, POLLOUT, Description);
                    continue;
                case Interop.Errno.ECONNREFUSED:
                    // Nobody bound at the peer's address (yet, or any more): this frame is lost, as on a VM's wire.
                    SendDropped++;
                    first++;
                    continue;
                default:
                    return false; // EBADF after Close, ENOTCONN: the link is gone
            }
        }
        return true;
    }

    public int Receive(FrameBatch batch)
    {
        var h = For(ref _receive, batch);
        for (var i = 0; i < batch.Capacity; i++)
        {
            h.Iov[i] = new IoVec { Base = batch.Base + batch.SlotOffset(i), Length = (nuint)batch.MaxFrame };
            h.Messages[i].Header.Flags = 0;
        }

        while (true)
        {
            var n = RecvMMsg(_socket.SafeHandle, h.Messages, (uint)batch.Capacity, MSG_WAITFORONE, null);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case Interop.Errno.EINTR:
                        continue;
                    case Interop.Errno.EAGAIN:
                        SocketWait.For(_socket.SafeHandle, POLLIN, Description);
                        continue;
                    case Interop.Errno.ECONNREFUSED:
                        continue; // an earlier send found nobody there (ICMP port unreachable): not about this receive
                    default:
                        return 0; // EBADF after Close: the link is gone
                }
            }
            if (n == 0)
            {
                return 0;
            }

            var count = 0;
            for (var i = 0; i < n; i++)
            {
                const int MSG_TRUNC = 0x20;
                var length = (int)h.Messages[i].Length;
                if ((h.Messages[i].Header.Flags & MSG_TRUNC) != 0 || length < 14)
                {
                    ReceiveDropped++; // longer than MTU + 14, or not an Ethernet frame
                    continue;
                }
                batch.Offsets[count] = batch.SlotOffset(i);
                batch.Lengths[count] = length;
                count++;
            }
            if (count > 0)
            {
                batch.Count = count;
                return count;
            }
        }
    }

    public void Close()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        if (_boundPath is not null)
        {
            try
            {
                File.Delete(_boundPath);
            }
            catch (IOException)
            {
            }
        }
    }
}
