using PacketDotNet;
using PacketDotNet.Utils;

namespace Switchyard.Packets.Tests.Core;

/// <summary>The VXLAN header (RFC 7348 section 5) against PacketDotNet's VxlanPacket as the oracle,
/// both ways, and the parse rules: truncated, flags other than I, reserved fields ignored.</summary>
public class VxlanHeaderTests
{
    private static readonly byte[] Inner = MakeInner();

    private static byte[] MakeInner()
    {
        var eth = new EthernetPacket(System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-00-0A"),
            System.Net.NetworkInformation.PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF"), EthernetType.Arp)
        {
            PayloadData = new byte[46],
        };
        return eth.Bytes;
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(4242u)]
    [InlineData(0xABCDEFu)]
    [InlineData(VxlanHeader.MaxVni)]
    public void What_we_write_PacketDotNet_reads(uint vni)
    {
        var d = new byte[VxlanHeader.Length + Inner.Length];
        d.AsSpan().Fill(0xEE);   // the writer must clear every reserved bit itself
        VxlanHeader.Write(d, vni);
        Inner.CopyTo(d, VxlanHeader.Length);

        var oracle = new VxlanPacket(new ByteArraySegment(d));
        Assert.Equal(0x08, oracle.Flags);
        Assert.Equal(vni, oracle.Vni);
        var inner = Assert.IsType<EthernetPacket>(oracle.PayloadPacket);
        Assert.Equal("02000000000A", inner.SourceHardwareAddress.ToString());
        Assert.Equal([0, 0, 0], d[1..4]);   // reserved, zero on sending
        Assert.Equal(0, d[7]);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(77u)]
    [InlineData(VxlanHeader.MaxVni)]
    public void What_PacketDotNet_writes_we_read(uint vni)
    {
        var d = new byte[VxlanHeader.Length + Inner.Length];
        Inner.CopyTo(d, VxlanHeader.Length);
        _ = new VxlanPacket(new ByteArraySegment(d)) { Flags = 0x08, Vni = vni };   // writes into d
        Assert.Equal(VxlanParseStatus.Ok, VxlanHeader.TryParse(d, out var h));
        Assert.Equal(vni, h.Vni);
        Assert.Equal(VxlanHeader.FlagI, h.Flags);
        Assert.True(h.Payload.SequenceEqual(Inner));
    }

    [Fact]
    public void A_whole_frame_on_udp_4789_decodes_in_PacketDotNet_as_vxlan()
    {
        var vxlan = new byte[VxlanHeader.Length + Inner.Length];
        VxlanHeader.Write(vxlan, 4242);
        Inner.CopyTo(vxlan, VxlanHeader.Length);
        var udp = new UdpPacket(51234, 4789) { PayloadData = vxlan };
        var ip = new IPv4Packet(System.Net.IPAddress.Parse("192.0.2.1"), System.Net.IPAddress.Parse("192.0.2.2")) { PayloadPacket = udp };
        var eth = new EthernetPacket(System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-00-01"),
            System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-00-02"), EthernetType.IPv4) { PayloadPacket = ip };
        ip.UpdateCalculatedValues();
        udp.UpdateCalculatedValues();
        var parsed = Packet.ParsePacket(LinkLayers.Ethernet, eth.Bytes);
        var decoded = parsed.Extract<VxlanPacket>();
        Assert.NotNull(decoded);
        Assert.Equal(4242u, decoded.Vni);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void Shorter_than_the_header_is_truncated(int length)
    {
        var d = new byte[length];
        if (length > 0) d[0] = VxlanHeader.FlagI;
        Assert.Equal(VxlanParseStatus.Truncated, VxlanHeader.TryParse(d, out _));
    }

    [Theory]
    [InlineData(0x00)]   // I clear
    [InlineData(0x88)]   // VXLAN-GBP's G
    [InlineData(0x0C)]   // VXLAN-GPE's P
    [InlineData(0x09)]
    [InlineData(0xFF)]
    public void Flags_other_than_I_alone_are_refused(byte flags)
    {
        var d = new byte[VxlanHeader.Length];
        VxlanHeader.Write(d, 5);
        d[0] = flags;
        Assert.Equal(VxlanParseStatus.BadFlags, VxlanHeader.TryParse(d, out _));
    }

    [Fact]
    public void Reserved_fields_are_ignored_on_receipt_and_a_bare_header_has_an_empty_payload()
    {
        byte[] d = [0x08, 0xAA, 0xBB, 0xCC, 0x12, 0x34, 0x56, 0xDD];
        Assert.Equal(VxlanParseStatus.Ok, VxlanHeader.TryParse(d, out var h));
        Assert.Equal(0x123456u, h.Vni);
        Assert.True(h.Payload.IsEmpty);
    }

    [Fact]
    public void A_vni_over_24_bits_is_refused()
    {
        var d = new byte[VxlanHeader.Length];
        Assert.Throws<ArgumentOutOfRangeException>(() => VxlanHeader.Write(d, VxlanHeader.MaxVni + 1));
    }
}
