using Switchyard.Network.Switching;
using Switchyard.Network.Transports;
using Switchyard.Packets;

namespace Switchyard.Fuzz;

/// <summary>How frames arrive from a VM: the stream transports' length prefix, one frame per
/// datagram, and a TAP's virtio-net header with offload jobs. Each frame then goes where the
/// switch sends a guest's frame: the port guard, DHCP snooping and the protocol parsers.</summary>
internal static class TransportTargets
{
    /// <summary>What the daemon's default MTU gives the switch (EthernetSwitch.MaxFrameLength).</summary>
    private const int MaxFrame = 1500 + EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength;

    private static readonly Ipv6Prefix Prefix = Ipv6Prefix.Parse("fd00:5157:1::/64");

    /// <summary>A unix stream socket's bytes: frames after a 4-byte big-endian length until the
    /// framing breaks or the bytes run out (what StreamConnection.Deliver does).</summary>
    public static void Stream(ReadOnlySpan<byte> input)
    {
        int pos = 0;
        while (true)
        {
            var status = StreamFraming.TryRead(input[pos..], MaxFrame, out uint length);
            Targets.Sink += (int)status + length;
            if (status != StreamFrameStatus.Frame) return;
            Frame(input.Slice(pos + StreamFraming.PrefixLength, (int)length));
            pos += StreamFraming.PrefixLength + (int)length;
        }
    }

    /// <summary>One datagram from a unix datagram socket: a whole frame, or a protocol error when
    /// longer than the switch takes (what DgramTransport's receive loop does).</summary>
    public static void Dgram(ReadOnlySpan<byte> input)
    {
        if (input.Length == 0 || input.Length > MaxFrame) return;
        Frame(input);
    }

    /// <summary>The VNI the "vxlan" seeds carry (fuzz/make-corpus.py).</summary>
    public const uint VxlanVni = 4242;

    /// <summary>One datagram from a VXLAN peer (RFC 7348): the tunnel's header, VNI, length and
    /// source checks (VxlanTunnel.Decapsulate), and the inner frame on to dgram's path (an uplink
    /// port has no guard, but the frame still reaches DHCP snooping and the parsers).</summary>
    public static void Vxlan(ReadOnlySpan<byte> input)
    {
        var drop = Network.Vxlan.VxlanTunnel.Decapsulate(input, VxlanVni, MaxFrame, out var frame, out var source);
        Targets.Sink += (drop is { } d ? (int)d + 1 : 0) + (long)(source.Value & 0xFF);
        if (drop is null) Frame(frame);
        // The tunnel's too-big answer reads a guest's frame (whatever its size): the bytes after the
        // header stand for one; a reply it writes must parse as the ICMP it claims to be.
        if (input.Length <= VxlanHeader.Length) return;
        Span<byte> reply = stackalloc byte[TooBigReply.MaxLength];
        int n = TooBigReply.TryWrite(input[VxlanHeader.Length..], 1400, reply);
        if (n == 0) return;
        if (n > reply.Length || !EthernetFrame.TryParse(reply[..n], out var eth)) throw new InvalidOperationException("the too-big reply is no Ethernet frame");
        bool ok = eth.EtherType == EtherType.IPv4
            ? Ipv4Packet.TryParse(eth.Payload, out var v4) && v4.IsHeaderChecksumValid && IcmpPacket.TryParse(v4.Payload, out var icmp) && icmp.IsChecksumValid
            : Ipv6Packet.TryParse(eth.Payload, out var v6) && Icmpv6Packet.TryParse(v6.Payload, out var icmp6) && icmp6.IsChecksumValid(v6.Source, v6.Destination);
        if (!ok) throw new InvalidOperationException("the too-big reply does not parse as checksummed ICMP");
    }

    /// <summary>One read from a TAP with IFF_VNET_HDR: the 10-byte virtio_net_hdr, then the frame;
    /// an offload job is done in software (checksum completion, TCP segmentation) and every frame
    /// that makes goes to the switch.</summary>
    public static void Virtio(ReadOnlySpan<byte> input)
    {
        if (input.Length <= VirtioNetHeader.Length) return; // DeviceReceiveLoop: n > header
        var header = VirtioNetHeader.Read(input);
        Targets.Sink += header.HeaderLength + header.GsoSize + (header.IsGso ? 1 : 0) + (header.NeedsChecksum ? 2 : 0) + (header.IsPlain ? 4 : 0);
        var frame = input[VirtioNetHeader.Length..];
        // The switch drops what is not Ethernet, or longer than a frame or a GSO job, before any
        // port sees it (EthernetSwitch.Forward).
        if (!EthernetFrame.TryParse(frame, out _) || frame.Length > (header.IsGso ? EthernetSwitch.MaxGsoFrameLength : MaxFrame)) return;
        Targets.Sink += SoftwareOffload.Deliver(frame, header, 0, static (_, plain) =>
        {
            if (plain.Length > 65536 + 64) throw new InvalidOperationException($"software offload made a {plain.Length}-byte frame");
            Frame(plain);
            return true;
        }) ? 1 : 0;
    }

    /// <summary>A guest's frame as the switch handles it: the port guard first (a learning guard
    /// takes the frame's source MAC, so the checks behind the MAC check are reached), DHCP
    /// snooping, then every parser above Ethernet.</summary>
    internal static void Frame(ReadOnlySpan<byte> frame)
    {
        if (EthernetFrame.TryParse(frame, out var eth))
        {
            // The IPv4 source the guard holds: the packet's own, so the checks after it are reached too.
            var v4 = eth.EtherType == EtherType.IPv4 && eth.Payload.Length >= 16 ? Ipv4Address.Read(eth.Payload[12..]) : default;
            var learning = new PortGuard(default, v4, learnMac: true, ipv6: Prefix);
            Targets.Sink += learning.Allows(eth, out var reason) ? 1 : (int)reason;
            var fixedMac = new PortGuard(eth.Source, Ipv4Address.Any, ipv6: Prefix);
            Targets.Sink += fixedMac.Allows(eth, out reason) ? 1 : (int)reason;
        }
        if (DhcpSnooping.TryReadAck(frame, out var client, out var address, out var lease))
            Targets.Sink += (long)client.Value + address.Value + lease.Ticks;
        LinkTargets.Ethernet(frame);
    }
}
