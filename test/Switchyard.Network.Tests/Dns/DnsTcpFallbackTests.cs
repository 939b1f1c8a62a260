using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Network.Dns;
using Switchyard.Packets;
using Switchyard.Packets.Dns;
using static Switchyard.Network.Tests.Infrastructure.DnsTestMessages;

namespace Switchyard.Network.Tests.Dns;

/// <summary>RFC 7766 §5: an upstream answer truncated over UDP is fetched again over TCP.</summary>
public sealed class DnsTcpFallbackTests
{
    [Fact]
    public async Task A_truncated_udp_answer_is_replaced_by_the_whole_answer_over_tcp()
    {
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tcp.Listen();
        var endPoint = (IPEndPoint)tcp.LocalEndPoint!;
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(endPoint); // the same port number for both, as a resolver has
        var addresses = Enumerable.Range(1, 40).Select(i => new Ipv4Address(0xC6336400u + (uint)i)).ToArray();

        var udpServer = Task.Run(async () =>
        {
            var buf = new byte[1500];
            var r = await udp.ReceiveFromAsync(buf, new IPEndPoint(IPAddress.Any, 0));
            var reply = Answer(buf.AsSpan(0, r.ReceivedBytes), DnsResponseCode.NoError, 60);
            reply[2] |= 0x02; // TC, and no answers: "ask me over TCP"
            await udp.SendToAsync(reply, r.RemoteEndPoint);
        });
        var tcpServer = Task.Run(async () =>
        {
            using var conn = await tcp.AcceptAsync();
            var len = new byte[2];
            await conn.ReceiveAsync(len);
            var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(len)];
            int got = 0;
            while (got < query.Length) got += await conn.ReceiveAsync(query.AsMemory(got));
            var whole = Answer(query, DnsResponseCode.NoError, 60, addresses);
            BinaryPrimitives.WriteUInt16BigEndian(len, (ushort)whole.Length);
            await conn.SendAsync(len);
            await conn.SendAsync(whole);
        });

        using var forwarder = new DnsForwarder(() => [endPoint], new DnsCache(), NullLogger.Instance, TimeSpan.FromSeconds(2));
        var response = new byte[8192];
        int n = await forwarder.ForwardAsync(Query("big.example", DnsType.A, 0x5151), response, new DnsQuestion("big.example", DnsType.A, DnsClass.IN), false);

        Assert.True(n > 0);
        var reply = Parse(response.AsSpan(0, n));
        Assert.Equal(0x5151, reply.Header.Id);
        Assert.False(reply.Header.Truncated);
        Assert.Equal(40, reply.Answers.Count);
        await Task.WhenAll(udpServer, tcpServer).WaitAsync(TimeSpan.FromSeconds(5));
    }
}
