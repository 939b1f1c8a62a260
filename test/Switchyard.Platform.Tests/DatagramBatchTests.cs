using System.Net;
using System.Net.Sockets;

namespace Switchyard.Platform.Tests;

/// <summary>recvmmsg and sendmmsg through <see cref="DatagramBatch"/> on real UDP and unix
/// datagram sockets: every datagram whole, in order, with its sender; a cut one reported with its
/// real length; a batch sent to an address or to a connected peer.</summary>
public sealed class DatagramBatchTests : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }

    private Socket Udp()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _owned.Add(s);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.ReceiveTimeout = 5_000;
        return s;
    }

    private static byte[] Datagram(int index, int length)
    {
        var d = new byte[length];
        for (int i = 0; i < length; i++) d[i] = (byte)(index * 7 + i);
        return d;
    }

    [Fact]
    public void Received_datagrams_come_whole_in_order_with_their_senders()
    {
        if (!DatagramBatch.IsSupported) return; // recvmmsg is Linux's; macOS receives one at a time
        var us = Udp();
        var a = Udp();
        var b = Udp();
        for (int i = 0; i < 10; i++) (i % 2 == 0 ? a : b).SendTo(Datagram(i, 100 + i * 50), us.LocalEndPoint!);

        var batch = new DatagramBatch(16, 16 * 2048);
        var r = batch.Receive(us, 2048);
        Assert.Equal(0, r.Errno);
        Assert.Equal(10, r.Bytes);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(Datagram(i, 100 + i * 50), batch.Datagram(i).ToArray());
            Assert.Equal(100 + i * 50, batch.Length(i));
            Assert.False(batch.IsTruncated(i));
            batch.CopySource(i, from);
            Assert.Equal((i % 2 == 0 ? a : b).LocalEndPoint, new IPEndPoint(IPAddress.Any, 0).Create(from));
        }
        Assert.True(batch.Receive(us, 2048).WouldBlock);
    }

    [Fact]
    public void A_datagram_longer_than_its_slot_is_cut_and_reported_with_its_length()
    {
        if (!DatagramBatch.IsSupported) return;
        var us = Udp();
        var vm = Udp();
        vm.SendTo(Datagram(1, 100), us.LocalEndPoint!);
        vm.SendTo(Datagram(2, 3000), us.LocalEndPoint!);
        vm.SendTo(Datagram(3, 200), us.LocalEndPoint!);

        var batch = new DatagramBatch(8, 8 * 1514);
        var r = batch.Receive(us, 1514);
        Assert.Equal(3, r.Bytes);
        Assert.True(batch.IsTruncated(1));
        Assert.Equal(3000, batch.Length(1));
        Assert.Equal(1514, batch.Datagram(1).Length);
        Assert.Equal(Datagram(3, 200), batch.Datagram(2).ToArray());
    }

    [Fact]
    public void A_batch_goes_out_in_order_to_an_address_and_on_a_connected_socket()
    {
        if (!DatagramBatch.IsSupported) return;
        var us = Udp();
        var vm = Udp();
        var batch = new DatagramBatch(4, 4096);
        for (int i = 0; i < 4; i++) Assert.True(batch.TryAdd(Datagram(i, 900)));
        Assert.False(batch.TryAdd(Datagram(9, 10))); // four messages: full
        var r = batch.Send(us, 0, vm.LocalEndPoint!.Serialize());
        Assert.Equal(4, r.Bytes);
        var buffer = new byte[2048];
        for (int i = 0; i < 4; i++) Assert.Equal(Datagram(i, 900), buffer.AsSpan(0, vm.Receive(buffer)).ToArray());

        // From the second on, to a connected peer, over unix datagram sockets.
        var dir = Directory.CreateTempSubdirectory("sy-mmsg-").FullName;
        try
        {
            using var theirs = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            theirs.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "vm.sock")));
            theirs.ReceiveTimeout = 5_000;
            using var ours = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            ours.Connect(new UnixDomainSocketEndPoint(Path.Combine(dir, "vm.sock")));
            Assert.Equal(3, batch.Send(ours, 1, null).Bytes);
            for (int i = 1; i < 4; i++) Assert.Equal(Datagram(i, 900), buffer.AsSpan(0, theirs.Receive(buffer)).ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_datagram_that_does_not_fit_the_buffer_is_refused()
    {
        var batch = new DatagramBatch(8, 1000);
        Assert.True(batch.TryAdd(new byte[600]));
        Assert.False(batch.TryAdd(new byte[600]));
        Assert.Equal(1, batch.Count);
        batch.Clear();
        Assert.Equal(0, batch.Count);
        Assert.True(batch.TryAdd(new byte[1000]));
    }
}
