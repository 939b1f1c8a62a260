using Switchyard.Network.Vxlan;
using Switchyard.Packets;

namespace Switchyard.Network.Tests.Vxlan;

/// <summary>Random and mutated datagrams (fixed seed) through the tunnel's checks: never a throw,
/// and whatever passes really is our VNI with an Ethernet frame of at most the MTU inside.
/// fuzz/run.sh's "vxlan" target goes deeper; this runs on every test run.</summary>
public sealed class VxlanDecapsulateFuzzTests
{
    private const uint Vni = 4242;
    private const int MaxFrame = 1500 + 18;

    [Fact]
    public void Random_and_mutated_datagrams_never_throw_and_what_passes_is_well_formed()
    {
        var rng = new Random(20261203);
        byte[][] seeds =
        [
            VxlanTestBed.Encapsulate(VxlanTestBed.Frame(0xFFFF_FFFF_FFFF, 0x02_00_00_00_00_0B, 100), Vni),
            VxlanTestBed.Encapsulate(VxlanTestBed.Frame(0x02_00_00_00_00_0A, 0x02_00_00_00_00_0B, MaxFrame + 4), Vni),
        ];
        int passed = 0;
        var counts = new int[Enum.GetValues<VxlanDrop>().Length];
        for (int i = 0; i < 20_000; i++)
        {
            byte[] datagram;
            if (i % 2 == 0)
            {
                datagram = new byte[rng.Next(0, 1600)];
                rng.NextBytes(datagram);
                if (datagram.Length > 0 && rng.Next(2) == 0) datagram[0] = VxlanHeader.FlagI;
            }
            else
            {
                var seed = seeds[rng.Next(seeds.Length)];
                datagram = seed[..rng.Next(seed.Length / 2, seed.Length + 1)];
                for (int m = rng.Next(0, 3); m > 0 && datagram.Length > 0; m--) datagram[rng.Next(datagram.Length)] ^= (byte)(1 << rng.Next(8));
            }
            var drop = VxlanTunnel.Decapsulate(datagram, Vni, MaxFrame, out var frame, out var source);
            if (drop is { } d) { counts[(int)d]++; continue; }
            passed++;
            Assert.Equal(VxlanHeader.FlagI, datagram[0]);
            Assert.True(EthernetFrame.TryParse(frame, out var eth));
            Assert.Equal(eth.Source, source);
            Assert.False(source.IsMulticast);
            Assert.InRange(frame.Length, EthernetFrame.HeaderLength, MaxFrame);
        }
        // The mutations reach every outcome the checks can give, not only the first one.
        Assert.True(passed > 100, $"{passed} passed");
        foreach (var reason in new[] { VxlanDrop.Malformed, VxlanDrop.BadFlags, VxlanDrop.WrongVni, VxlanDrop.TooBig })
            Assert.True(counts[(int)reason] > 0, $"no input was dropped as {reason}");
    }
}
