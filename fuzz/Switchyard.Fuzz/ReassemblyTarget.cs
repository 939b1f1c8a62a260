using System.Buffers.Binary;
using Switchyard.Network.Nat;
using Switchyard.Packets;

namespace Switchyard.Fuzz;

/// <summary>A guest's IPv4 fragments into the NAT's reassembly (Ipv4Reassembly, as
/// NatEngine.HandleFragment feeds it). The input is a sequence of packets, each after a 2-byte
/// big-endian length. Beyond "no exception", a datagram it completes must be made of the guest's
/// fragments only: every payload byte covered by a fragment of that datagram (a hole would send
/// whatever the pooled buffer held before, another guest's data, to the host), and no longer than
/// IPv4 allows (RFC 791: 65535 bytes with the header).</summary>
internal static class ReassemblyTarget
{
    private readonly record struct Key(uint Source, uint Destination, ushort Id, byte Protocol);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reassembly = new Ipv4Reassembly();
        var fed = new List<(Key Key, int Offset, byte[] Data)>();
        int pos = 0;
        while (input.Length - pos >= 2)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(input[pos..]);
            pos += 2;
            if (length > input.Length - pos) return;
            var packet = input.Slice(pos, length);
            pos += length;
            if (!Ipv4Packet.TryParse(packet, out var ip) || !ip.IsFragment || ip.Protocol is not (IpProtocol.Udp or IpProtocol.Icmp)) continue;
            var key = new Key(ip.Source.Value, ip.Destination.Value, ip.Identification, ip.Protocol);
            fed.Add((key, ip.FragmentOffset, ip.Payload.ToArray()));
            var result = reassembly.Add(ip, 0, out var buffer, out int start, out int whole);
            Targets.Sink += (int)result + reassembly.InProgress;
            if (result != Ipv4Reassembly.Result.Complete) continue;
            try { Check(key, buffer!.AsSpan(start, whole), fed); }
            finally { Ipv4Reassembly.Return(buffer!); }
        }
    }

    private static void Check(Key key, ReadOnlySpan<byte> datagram, List<(Key Key, int Offset, byte[] Data)> fed)
    {
        if (datagram.Length > ushort.MaxValue)
            throw new InvalidOperationException($"reassembled a {datagram.Length}-byte datagram, longer than IPv4 allows");
        if (!Ipv4Packet.TryParse(datagram, out var ip) || ip.IsFragment || ip.TotalLength != datagram.Length || !ip.IsHeaderChecksumValid)
            throw new InvalidOperationException("the reassembled datagram's header is not a whole datagram's");
        var payload = ip.Payload;
        var covered = new bool[payload.Length];
        foreach (var (k, offset, data) in fed)
        {
            if (k != key) continue;
            for (int i = 0; i < data.Length && offset + i < payload.Length; i++)
                if (payload[offset + i] == data[i]) covered[offset + i] = true;
        }
        int hole = Array.IndexOf(covered, false);
        if (hole >= 0)
            throw new InvalidOperationException($"byte {hole} of a reassembled {payload.Length}-byte payload came from no fragment");
    }
}
