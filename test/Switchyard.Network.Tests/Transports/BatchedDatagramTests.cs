using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Switching;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Transports;

/// <summary>Issue 15: the unix datagram and UDP transports take what queued up while they were
/// busy in batches (recvmmsg) and send an offloaded job's frames in one sendmmsg; every frame
/// arrives whole and in order both ways. The burst is made deterministic: the handler holds the
/// first frame until the VM has sent the rest, so they wait in the socket for one drain.</summary>
public sealed class BatchedDatagramTests : IDisposable
{
    private const int Burst = 120, UnixBurst = 8;
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-mmsg-").FullName;
    private readonly FakeTimeProvider _clock = new();
    private readonly CapturingLogger _log = new();
    private readonly List<IDisposable> _owned = [];
    private readonly List<byte[]> _received = [];
    private readonly ManualResetEventSlim _release = new();

    public void Dispose()
    {
        _release.Set();
        foreach (var d in _owned) d.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Frame <paramref name="index"/>: a broadcast with its index in its bytes, of a length that varies.</summary>
    internal static byte[] Frame(int index, int length = 0)
    {
        var f = new byte[length > 0 ? length : 60 + index * 37 % 1400];
        f.AsSpan(0, 6).Fill(0xff);
        for (int i = 6; i < f.Length; i++) f[i] = (byte)(index + i);
        BinaryPrimitives.WriteInt32BigEndian(f.AsSpan(14), index);
        return f;
    }

    private void OnFrame(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        lock (_received)
        {
            _received.Add(frame.ToArray());
            if (_received.Count > 1) return;
        }
        _release.Wait(TimeSpan.FromSeconds(10)); // the first frame: hold the loop while the VM sends the rest
    }

    /// <summary>Sends frame 0, waits for the transport to hold it, sends the burst (with one
    /// oversized datagram in the middle when <paramref name="oversized"/>), releases the loop and
    /// checks that every frame arrived whole and in order.</summary>
    private async Task BurstArrivesInOrder(Action<byte[]> vmSend, IReportingTransport transport, bool oversized, int burst = Burst)
    {
        vmSend(Frame(0));
        for (int i = 0; i < 500 && Count() < 1; i++) await Task.Delay(10);
        Assert.Equal(1, Count());
        for (int i = 1; i <= burst; i++)
        {
            vmSend(Frame(i));
            if (oversized && i == burst / 2) vmSend(new byte[3000]);
        }
        _release.Set();
        for (int i = 0; i < 500 && Count() < burst + 1; i++) await Task.Delay(10);
        lock (_received)
        {
            Assert.Equal(burst + 1, _received.Count);
            for (int i = 0; i <= burst; i++) Assert.Equal(Frame(i), _received[i]);
        }
        Assert.Equal(oversized ? 1 : 0, transport.Status.ProtocolErrors);
        if (oversized) Assert.Contains("3000", transport.Status.LastError);
    }

    private int Count()
    {
        lock (_received) return _received.Count;
    }

    private Socket UdpVm()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _owned.Add(s);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.ReceiveTimeout = 5_000;
        return s;
    }

    [Fact]
    public async Task Udp_a_burst_that_queued_up_arrives_whole_and_in_order()
    {
        var vm = UdpVm();
        var t = UdpTransport.Listen(new IPEndPoint(IPAddress.Loopback, 0), null, 1514, _log, _clock);
        _owned.Add(t);
        t.Start(OnFrame);
        await BurstArrivesInOrder(f => vm.SendTo(f, t.Local), t, oversized: true);
    }

    [Fact]
    public async Task Udp_a_stranger_in_a_burst_is_counted_and_dropped()
    {
        var vm = UdpVm();
        var stranger = UdpVm();
        var t = UdpTransport.Listen(new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)vm.LocalEndPoint!, 1514, _log, _clock);
        _owned.Add(t);
        t.Start(OnFrame);
        await BurstArrivesInOrder(f =>
        {
            vm.SendTo(f, t.Local);
            if (BinaryPrimitives.ReadInt32BigEndian(f.AsSpan(14)) % 10 == 5) stranger.SendTo(Frame(9999), t.Local);
        }, t, oversized: false);
        Assert.Equal(Burst / 10, t.Status.ForeignDatagrams);
    }

    [Fact]
    public async Task Dgram_a_burst_that_queued_up_arrives_whole_and_in_order()
    {
        var path = Path.Combine(_dir, "yard.sock");
        var t = DgramTransport.Listen(path, peer: null, 1514, _log, _clock);
        _owned.Add(t);
        t.Start(OnFrame);
        var vm = Switchyard.Testing.UnixSockets.Bind(Path.Combine(_dir, "vm.sock"), SocketType.Dgram);
        _owned.Add(vm);
        vm.Connect(new UnixDomainSocketEndPoint(path));
        // A unix socket's queue is short (net.unix.max_dgram_qlen, 10 by default): the burst fits it.
        await BurstArrivesInOrder(f => vm.Send(f), t, oversized: true, burst: UnixBurst);
    }

    [Fact]
    public async Task Dgram_pair_a_burst_that_queued_up_arrives_whole_and_in_order()
    {
        var (ours, theirs) = Switchyard.Platform.FdPassing.CreatePair(SocketType.Dgram);
        var vm = new Socket(new SafeSocketHandle(theirs.DangerousGetHandle(), ownsHandle: false));
        _owned.Add(theirs);
        var t = DgramTransport.FromSocket(ours, 1514, _log, _clock);
        _owned.Add(t);
        t.Start(OnFrame);
        await BurstArrivesInOrder(f => vm.Send(f), t, oversized: false, burst: UnixBurst);
    }

    /// <summary>A TCP segmentation job, as the NAT or a TAP guest hands it to the switch.</summary>
    internal static (byte[] Frame, VirtioNetHeader Offload) GsoJob(int payloadLength, ushort mss)
    {
        var payload = new byte[payloadLength];
        new Random(payloadLength).NextBytes(payload);
        var frame = Frames.Tcp(TestNetwork.MacB, TestNetwork.MacA, TestNetwork.IpA, TestNetwork.IpB, 40000, 5201, 1000, 1, TcpFlags.Ack | TcpFlags.Psh, payload);
        int l4 = EthernetFrameWriter.L4Offset;
        ushort partial = (ushort)~Checksum.Finish(Checksum.PseudoHeaderV4(TestNetwork.IpA, TestNetwork.IpB, IpProtocol.Tcp, frame.Length - l4));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 16), partial);
        return (frame, new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)(l4 + 20), mss, (ushort)l4, 16));
    }

    /// <summary>What the switch used to hand a port without offloads: SoftwareOffload's frames.</summary>
    internal static List<byte[]> Segments(byte[] frame, in VirtioNetHeader offload)
    {
        var list = new List<byte[]>();
        Assert.True(SoftwareOffload.Deliver(frame, offload, list, static (l, f) => { l.Add(f.ToArray()); return true; }));
        return list;
    }

    [Theory]
    [InlineData(65000, 1460)] // 45 frames: one sendmmsg
    [InlineData(1000, 1460)]  // a job of one frame
    public void Udp_an_offloaded_job_reaches_the_vm_as_the_frames_software_offload_makes(int payload, ushort mss)
    {
        var vm = UdpVm();
        var t = UdpTransport.Listen(new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)vm.LocalEndPoint!, 1514, _log, _clock);
        _owned.Add(t);
        Assert.True(t.SupportsOffload);
        var (frame, offload) = GsoJob(payload, mss);
        var expected = Segments(frame, offload);
        Assert.True(t.TrySend(frame, offload));
        var buffer = new byte[2048];
        foreach (var segment in expected) Assert.Equal(segment, buffer.AsSpan(0, vm.Receive(buffer)).ToArray());
    }

    [Fact]
    public void Dgram_an_offloaded_job_reaches_a_given_peer_as_the_frames_software_offload_makes()
    {
        var vmPath = Path.Combine(_dir, "vm.sock");
        var vm = Switchyard.Testing.UnixSockets.Bind(vmPath, SocketType.Dgram);
        _owned.Add(vm);
        vm.ReceiveTimeout = 5_000;
        var t = DgramTransport.Listen(Path.Combine(_dir, "yard.sock"), vmPath, 1514, _log, _clock);
        _owned.Add(t);
        // The VM's socket is connected to ours, as QEMU's is (local.path + remote.path): a unix
        // socket's short queue (net.unix.max_dgram_qlen) then does not apply to what we send it.
        vm.Connect(new UnixDomainSocketEndPoint(Path.Combine(_dir, "yard.sock")));
        var (frame, offload) = GsoJob(20000, 1448);
        var expected = Segments(frame, offload);
        Assert.True(expected.Count > 10);
        Assert.True(t.TrySend(frame, offload));
        var buffer = new byte[2048];
        foreach (var segment in expected) Assert.Equal(segment, buffer.AsSpan(0, vm.Receive(buffer)).ToArray());
    }

    [Fact]
    public void Dgram_an_offloaded_job_to_a_peer_that_is_not_there_is_a_drop()
    {
        var t = DgramTransport.Listen(Path.Combine(_dir, "yard.sock"), Path.Combine(_dir, "nobody.sock"), 1514, _log, _clock);
        _owned.Add(t);
        var (frame, offload) = GsoJob(20000, 1448);
        Assert.False(t.TrySend(frame, offload));
    }
}
