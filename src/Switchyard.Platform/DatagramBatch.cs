using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Switchyard.Platform;

/// <summary>Many datagrams in one system call: recvmmsg(2) into fixed slots of one buffer, or
/// datagrams laid back to back and sent with sendmmsg(2). Linux only (<see cref="IsSupported"/>);
/// elsewhere callers receive and send one datagram at a time.
///
/// The buffer and the struct mmsghdr/iovec/sockaddr arrays are pinned arrays allocated once (the
/// pinned object heap), so the kernel writes straight into them and nothing is allocated or
/// copied per datagram beyond what the socket API forces. One thread uses a batch at a time.</summary>
public sealed unsafe class DatagramBatch
{
    /// <summary>Room for any socket address (sizeof(struct sockaddr_storage)).</summary>
    public const int AddressCapacity = 128;

    private const int IoVecSize = 16;

    private readonly byte[] _data;
    private readonly byte[] _headers;
    private readonly byte* _dataPtr, _msgs, _iovs, _names;
    private int _count, _used;

    /// <param name="messages">The most datagrams one call moves.</param>
    /// <param name="bytes">The buffer's size: receive slots, or datagrams back to back to send.</param>
    public DatagramBatch(int messages, int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        Capacity = messages;
        _data = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        _headers = GC.AllocateArray<byte>(messages * (Interop.MMsg.Size + IoVecSize + AddressCapacity), pinned: true);
        _dataPtr = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_data, 0);
        _msgs = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_headers, 0);
        _iovs = _msgs + messages * Interop.MMsg.Size;
        _names = _iovs + messages * IoVecSize;
    }

    /// <summary>recvmmsg/sendmmsg exist (Linux); elsewhere use the one-datagram calls.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>The most datagrams one call moves.</summary>
    public int Capacity { get; }

    /// <summary>The buffer's size in bytes.</summary>
    public int Bytes => _data.Length;

    /// <summary>Datagrams received by the last <see cref="Receive"/>, or added since the last <see cref="Clear"/>.</summary>
    public int Count => _count;

    private byte* Msg(int i) => _msgs + (nint)i * Interop.MMsg.Size;
    private Interop.IoVec* Iov(int i) => (Interop.IoVec*)(_iovs + (nint)i * IoVecSize);
    private byte* Name(int i) => _names + (nint)i * AddressCapacity;

    /// <summary>recvmmsg(2) with MSG_DONTWAIT of up to <see cref="Capacity"/> datagrams (fewer when
    /// the buffer holds fewer slots of <paramref name="slotSize"/> bytes), each into its own slot
    /// with its sender. Bytes of the result is the number of datagrams (then read with
    /// <see cref="Datagram"/>, <see cref="IsTruncated"/>, <see cref="CopySource"/>); WouldBlock
    /// when none is queued. Linux only.</summary>
    public IoResult Receive(Socket socket, int slotSize)
    {
        _count = 0;
        if (!IsSupported) return new IoResult(0, Interop.Errno.EINVAL);
        int slots = Math.Min(Capacity, _data.Length / slotSize);
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slotSize), slotSize, $"larger than the batch's {_data.Length} bytes");
        for (int i = 0; i < slots; i++)
        {
            var iov = Iov(i);
            iov->Base = _dataPtr + (nint)i * slotSize;
            iov->Length = (nuint)slotSize;
            SetHeader(i, Name(i), AddressCapacity);
        }
        while (true)
        {
            // MSG_TRUNC: msg_len is a cut datagram's real length (UDP; unix sockets since Linux 3.x).
            int n = Interop.Libc.RecvMMsg(socket.SafeHandle, _msgs, (uint)slots, Interop.MMsg.MSG_DONTWAIT | Interop.MMsg.MSG_TRUNC, null);
            if (n >= 0)
            {
                _count = n;
                return new IoResult(n, 0);
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
        }
    }

    private void SetHeader(int i, byte* name, int nameLength)
    {
        var msg = Msg(i);
        new Span<byte>(msg, Interop.MMsg.Size).Clear();
        *(byte**)(msg + Interop.MMsg.NameOffset) = name;
        *(int*)(msg + Interop.MMsg.NameLengthOffset) = nameLength;
        *(Interop.IoVec**)(msg + Interop.MMsg.IovOffset) = Iov(i);
        *(nuint*)(msg + Interop.MMsg.IovLengthOffset) = 1;
    }

    /// <summary>The <paramref name="i"/>th datagram the last <see cref="Receive"/> took (cut to
    /// its slot when <see cref="IsTruncated"/>); valid until the next call on the batch.</summary>
    public ReadOnlySpan<byte> Datagram(int i)
    {
        if ((uint)i >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(i));
        var iov = Iov(i);
        int length = *(int*)(Msg(i) + Interop.MMsg.LengthOffset);
        return new ReadOnlySpan<byte>(iov->Base, Math.Min(length, (int)iov->Length));
    }

    /// <summary>The <paramref name="i"/>th received datagram's length as sent: longer than
    /// <see cref="Datagram"/> when the kernel cut it to its slot.</summary>
    public int Length(int i) => *(int*)(Msg(i) + Interop.MMsg.LengthOffset);

    /// <summary>The kernel cut the <paramref name="i"/>th datagram: it was longer than its slot.</summary>
    public bool IsTruncated(int i) => (*(int*)(Msg(i) + Interop.MMsg.FlagsOffset) & Interop.MMsg.MSG_TRUNC) != 0;

    /// <summary>Copies the <paramref name="i"/>th received datagram's sender into
    /// <paramref name="into"/> and sets its Size (2 bytes, the family only, for an unbound unix sender).</summary>
    public void CopySource(int i, System.Net.SocketAddress into)
    {
        int length = Math.Min(*(int*)(Msg(i) + Interop.MMsg.NameLengthOffset), Math.Min(AddressCapacity, into.Buffer.Length));
        new ReadOnlySpan<byte>(Name(i), length).CopyTo(into.Buffer.Span);
        into.Size = length;
    }

    /// <summary>Empties the batch for <see cref="TryAdd"/>.</summary>
    public void Clear()
    {
        _count = 0;
        _used = 0;
    }

    /// <summary>Copies <paramref name="datagram"/> after the ones added so far; false (nothing
    /// added) when the buffer or the message count is full.</summary>
    public bool TryAdd(ReadOnlySpan<byte> datagram)
    {
        if (_count == Capacity || datagram.Length > _data.Length - _used) return false;
        datagram.CopyTo(new Span<byte>(_dataPtr + _used, datagram.Length));
        var iov = Iov(_count);
        iov->Base = _dataPtr + _used;
        iov->Length = (nuint)datagram.Length;
        _used += datagram.Length;
        _count++;
        return true;
    }

    /// <summary>sendmmsg(2) with MSG_DONTWAIT (and MSG_NOSIGNAL) of the added datagrams from
    /// <paramref name="start"/> on, each to <paramref name="to"/> (null: a connected socket's
    /// peer). Bytes of the result is how many went (the kernel stops at the first that cannot
    /// go; the errno is that of the first when none went). Linux only.</summary>
    public IoResult Send(Socket socket, int start, System.Net.SocketAddress? to)
    {
        if (!IsSupported) return new IoResult(0, Interop.Errno.EINVAL);
        if ((uint)start >= (uint)_count) return new IoResult(0, 0);
        fixed (byte* address = to is null ? default : to.Buffer.Span)
        {
            for (int i = start; i < _count; i++) SetHeader(i, to is null ? null : address, to?.Size ?? 0);
            while (true)
            {
                int n = Interop.Libc.SendMMsg(socket.SafeHandle, Msg(start), (uint)(_count - start), Interop.MMsg.MSG_DONTWAIT | Interop.MMsg.MSG_NOSIGNAL);
                if (n >= 0) return new IoResult(n, 0);
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Errno.EINTR) return new IoResult(0, errno);
            }
        }
    }
}
