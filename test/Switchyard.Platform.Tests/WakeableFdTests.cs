using System.Runtime.Versioning;

namespace Switchyard.Platform.Tests;

/// <summary>The fd + eventfd pair under TAP devices and AF_PACKET sockets, on a nonblocking unix
/// SOCK_SEQPACKET pair (messages like frames, and a hang-up when the peer goes) (no root needed).</summary>
[SupportedOSPlatform("linux")]
public sealed class WakeableFdTests
{
    private const int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_NONBLOCK = 0x800, O_WRONLY = 1, EBADF = 9;

    [Fact]
    public void Wake_UnblocksAPollWaitingForever()
    {
        var (fd, peer) = Pair();
        using var _ = peer;
        using var wakeable = fd;
        bool? result = null;
        var waiter = new Thread(() => result = wakeable.WaitReadable(-1));
        waiter.Start();
        Thread.Sleep(100);

        wakeable.Wake();

        Assert.True(waiter.Join(TimeSpan.FromSeconds(5)));
        Assert.False(result);
    }

    [Fact]
    public void Wake_BeforeTheWait_IsConsumedByOneWait()
    {
        var (fd, peer) = Pair();
        using var _ = peer;
        using var wakeable = fd;

        wakeable.Wake();
        wakeable.Wake();   // a wake-up already pending: no error, still one wake-up

        Assert.False(wakeable.WaitReadable(10_000));
        var started = Environment.TickCount64;
        Assert.False(wakeable.WaitReadable(50));
        Assert.True(Environment.TickCount64 - started >= 40, "the second wait should have timed out, not been woken");
    }

    [Fact]
    public unsafe void Readable_ThenRead_ThenNothingQueued()
    {
        var (fd, peer) = Pair();
        using var _ = peer;
        using var wakeable = fd;
        byte* data = stackalloc byte[] { 1, 2, 3 };
        Assert.Equal(3, Interop.Libc.Write(peer, data, 3));

        Assert.True(wakeable.WaitReadable(5_000));
        var buffer = new byte[16];
        Assert.Equal(3, wakeable.Read(buffer));
        Assert.Equal(new byte[] { 1, 2, 3 }, buffer[..3]);
        Assert.Equal(0, wakeable.Read(buffer));   // EAGAIN
    }

    [Fact]
    public void Write_SendsHeaderAndFrameAsOneMessage()
    {
        var (fd, peer) = Pair();
        using var wakeable = fd;
        using var reader = WakeableFd.Create(peer, "peer");

        Assert.Equal(0, wakeable.Write([9, 8], [7, 6, 5]));
        Assert.Equal(0, wakeable.Write(default, [4]));

        Assert.True(reader.WaitReadable(5_000));
        var buffer = new byte[16];
        Assert.Equal(5, reader.Read(buffer));
        Assert.Equal(new byte[] { 9, 8, 7, 6, 5 }, buffer[..5]);
        Assert.Equal(1, reader.Read(buffer));
        Assert.Equal(4, buffer[0]);
    }

    [Fact]
    public void PeerGone_IsReadable_SoTheReaderFindsOut()
    {
        var (fd, peer) = Pair();
        using var wakeable = fd;
        peer.Dispose();

        Assert.True(wakeable.WaitReadable(5_000));   // POLLHUP
        Assert.Equal(0, wakeable.Read(new byte[16]));
    }

    [Fact]
    public void Errors_AreReportedAsNegatedErrno_ForTheOwnerToSort()
    {
        // /dev/null opened write-only: read(2) fails with EBADF.
        using var writeOnly = WakeableFd.Create(SafeFileDescriptorHandle.FromReturnValue(Interop.Libc.Open("/dev/null", O_WRONLY)), "test");
        Assert.Equal(-EBADF, writeOnly.Read(new byte[16]));

        using var readOnly = WakeableFd.Create(SafeFileDescriptorHandle.Open("/dev/null", Interop.Libc.O_RDONLY), "test");
        Assert.Equal(EBADF, readOnly.Write(default, [1, 2, 3]));
    }

    [Fact]
    public void Dispose_ThenWake_Throws()
    {
        var (fd, peer) = Pair();
        using var _ = peer;
        fd.Dispose();
        Assert.Throws<ObjectDisposedException>(fd.Wake);
    }

    private static unsafe (WakeableFd Fd, SafeFileDescriptorHandle Peer) Pair()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Interop.Libc.SocketPair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | Interop.Libc.SOCK_CLOEXEC, 0, fds));
        return (WakeableFd.Create(SafeFileDescriptorHandle.FromReturnValue(fds[0]), "test pair"), SafeFileDescriptorHandle.FromReturnValue(fds[1]));
    }
}
