using System.Buffers.Binary;
using Switchyard.Packets;

namespace Switchyard.Packets.Tests.Core;

/// <summary>The IPv6 extension-header walk (RFC 8200 §4) that RA guard relies on.</summary>
public sealed class Ipv6HeaderChainTests
{
    /// <summary>An IPv6 packet whose chain is <paramref name="headers"/> (each: type, total length) then <paramref name="upper"/>.</summary>
    internal static byte[] Packet(byte upper, int upperLength, params (byte Type, int Length)[] headers)
    {
        int total = 40 + headers.Sum(h => h.Length) + upperLength;
        var p = new byte[total];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(total - 40));
        p[6] = headers.Length > 0 ? headers[0].Type : upper;
        p[7] = 255;
        int at = 40;
        for (int i = 0; i < headers.Length; i++)
        {
            var (type, length) = headers[i];
            p[at] = i + 1 < headers.Length ? headers[i + 1].Type : upper;
            p[at + 1] = type == Ipv6HeaderChain.Ah ? (byte)(length / 4 - 2) : type == Ipv6HeaderChain.Fragment ? (byte)0 : (byte)(length / 8 - 1);
            at += length;
        }
        return p;
    }

    [Theory]
    [InlineData(Ipv6HeaderChain.HopByHop, 8)]
    [InlineData(Ipv6HeaderChain.HopByHop, 24)]
    [InlineData(Ipv6HeaderChain.Routing, 16)]
    [InlineData(Ipv6HeaderChain.DestinationOptions, 8)]
    [InlineData(Ipv6HeaderChain.Ah, 24)]
    [InlineData(Ipv6HeaderChain.Mobility, 8)]
    [InlineData(Ipv6HeaderChain.Hip, 8)]
    [InlineData(Ipv6HeaderChain.Shim6, 8)]
    [InlineData(Ipv6HeaderChain.Experimental1, 8)]
    [InlineData(Ipv6HeaderChain.Experimental2, 8)]
    [InlineData(Ipv6HeaderChain.Fragment, 8)]
    public void Each_header_type_is_stepped_over(byte type, int length)
    {
        var p = Packet(IpProtocol.Icmpv6, 8, (type, length));
        Assert.Equal(Ipv6ChainResult.UpperLayer, Ipv6HeaderChain.Walk(p, out var protocol, out var at));
        Assert.Equal(IpProtocol.Icmpv6, protocol);
        Assert.Equal(40 + length, at);
    }

    [Fact]
    public void A_chain_of_several_headers_ends_at_the_upper_layer()
    {
        var p = Packet(IpProtocol.Udp, 8, (Ipv6HeaderChain.HopByHop, 8), (Ipv6HeaderChain.DestinationOptions, 16),
            (Ipv6HeaderChain.Routing, 24), (Ipv6HeaderChain.Fragment, 8), (Ipv6HeaderChain.DestinationOptions, 8));
        Assert.Equal(Ipv6ChainResult.UpperLayer, Ipv6HeaderChain.Walk(p, out var protocol, out var at));
        Assert.Equal(IpProtocol.Udp, protocol);
        Assert.Equal(40 + 8 + 16 + 24 + 8 + 8, at);
    }

    [Fact]
    public void No_extension_header_is_the_fixed_header_s_next_header()
    {
        var p = Packet(IpProtocol.Tcp, 20);
        Assert.Equal(Ipv6ChainResult.UpperLayer, Ipv6HeaderChain.Walk(p, out var protocol, out var at));
        Assert.Equal(IpProtocol.Tcp, protocol);
        Assert.Equal(40, at);
    }

    [Fact]
    public void A_later_fragment_says_so()
    {
        var p = Packet(IpProtocol.Icmpv6, 8, (Ipv6HeaderChain.Fragment, 8));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(42), 185 << 3);
        Assert.Equal(Ipv6ChainResult.LaterFragment, Ipv6HeaderChain.Walk(p, out _, out _));
    }

    [Theory]
    [InlineData(Ipv6HeaderChain.HopByHop)]
    [InlineData(Ipv6HeaderChain.Fragment)]
    [InlineData(Ipv6HeaderChain.Ah)]
    public void A_header_cut_short_is_truncated(byte type)
    {
        var p = Packet(IpProtocol.Icmpv6, 0, (type, 8));
        Assert.Equal(Ipv6ChainResult.Truncated, Ipv6HeaderChain.Walk(p.AsSpan(0, 44), out _, out _));
    }

    [Fact]
    public void A_length_that_points_past_the_end_is_truncated()
    {
        var p = Packet(IpProtocol.Icmpv6, 8, (Ipv6HeaderChain.DestinationOptions, 8));
        p[41] = 200;   // 1,608 bytes of options in a 56-byte packet
        Assert.Equal(Ipv6ChainResult.Truncated, Ipv6HeaderChain.Walk(p, out _, out _));
    }

    [Fact]
    public void An_endless_chain_is_truncated()
    {
        var headers = Enumerable.Repeat((Ipv6HeaderChain.DestinationOptions, 8), 40).ToArray();
        var p = Packet(IpProtocol.Icmpv6, 8, headers);
        Assert.Equal(Ipv6ChainResult.Truncated, Ipv6HeaderChain.Walk(p, out _, out _));
    }

    [Fact]
    public void Random_bytes_never_throw_or_point_outside()
    {
        var random = new Random(7113);
        var p = new byte[120];
        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(p);
            var span = p.AsSpan(0, random.Next(40, p.Length + 1));
            var result = Ipv6HeaderChain.Walk(span, out _, out var at);
            if (result == Ipv6ChainResult.UpperLayer) Assert.InRange(at, 40, span.Length);
        }
    }
}
