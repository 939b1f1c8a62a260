using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Switchyard.Platform;

namespace Switchyard.Client.Tests;

/// <summary>The client's SCM_RIGHTS receive, fed by the daemon's send (Platform's FdPassing) over a socket pair.</summary>
public sealed class FdReceiverTests
{
    [Fact]
    public void ReceivesTheMessageAndTheDescriptorSentWithIt()
    {
        var (ours, theirs) = FdPassing.CreatePair(SocketType.Stream);
        using var _ = ours;
        using var __ = theirs;
        using var receiver = new Socket(new SafeSocketHandle(theirs.DangerousGetHandle(), ownsHandle: false));
        var path = Path.GetTempFileName();
        try
        {
            using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
            {
                FdPassing.Send(ours, "hello\n"u8, file);
            }

            var buffer = new byte[64];
            int n = FdReceiver.Receive(receiver, buffer, out var fd);

            Assert.Equal("hello\n", Encoding.ASCII.GetString(buffer, 0, n));
            Assert.NotNull(fd);
            using (fd)
            {
                // The received descriptor is a new number for the same open file: write through it, read by path.
                using var received = new SafeFileHandle(fd.DangerousGetHandle(), ownsHandle: false);
                RandomAccess.Write(received, "passed"u8, 0);
            }
            Assert.Equal("passed", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AMessageWithoutADescriptor_GivesNone()
    {
        var (ours, theirs) = FdPassing.CreatePair(SocketType.Stream);
        using var _ = ours;
        using var __ = theirs;
        using var receiver = new Socket(new SafeSocketHandle(theirs.DangerousGetHandle(), ownsHandle: false));
        ours.Send("plain"u8);

        var buffer = new byte[64];
        int n = FdReceiver.Receive(receiver, buffer, out var fd);

        Assert.Equal(5, n);
        Assert.Null(fd);
    }

    [Fact]
    public void EndOfStream_IsZero()
    {
        var (ours, theirs) = FdPassing.CreatePair(SocketType.Stream);
        using var __ = theirs;
        using var receiver = new Socket(new SafeSocketHandle(theirs.DangerousGetHandle(), ownsHandle: false));
        ours.Dispose();

        Assert.Equal(0, FdReceiver.Receive(receiver, new byte[16], out var fd));
        Assert.Null(fd);
    }

    [Fact]
    public unsafe void NativeStructs_HaveTheSizesOfTheirSystemsHeaders()
    {
        // <sys/socket.h> on LP64 Linux and on macOS (64-bit): see Interop.RecvMsg.cs.
        Assert.Equal(56, sizeof(Interop.LinuxMsgHdr));
        Assert.Equal(48, sizeof(Interop.DarwinMsgHdr));
        Assert.Equal(16, sizeof(Interop.LinuxCmsgHdr));
        Assert.Equal(12, sizeof(Interop.DarwinCmsgHdr));
        Assert.Equal(40, (int)Marshal.OffsetOf<Interop.LinuxMsgHdr>(nameof(Interop.LinuxMsgHdr.ControlLength)));
        Assert.Equal(40, (int)Marshal.OffsetOf<Interop.DarwinMsgHdr>(nameof(Interop.DarwinMsgHdr.ControlLength)));
        Assert.Equal(44, (int)Marshal.OffsetOf<Interop.DarwinMsgHdr>(nameof(Interop.DarwinMsgHdr.Flags)));
    }
}
