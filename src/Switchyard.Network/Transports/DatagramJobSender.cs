using Switchyard.Network.Switching;
using Switchyard.Packets;
using Switchyard.Platform;

namespace Switchyard.Network.Transports;

/// <summary>A datagram transport that can send a batch of frames in one call.</summary>
internal interface IDatagramBatchTarget
{
    /// <summary>Sends one plain frame (the transport's ordinary path).</summary>
    bool SendOne(ReadOnlySpan<byte> frame);

    /// <summary>Sends every datagram of <paramref name="batch"/>, in order; false when any was dropped.</summary>
    bool SendBatch(DatagramBatch batch);
}

/// <summary>How a datagram transport takes an offloaded frame (a TCP segmentation job of a TAP
/// guest or of the NAT, up to 64 KiB, or a frame whose checksum is left to "the NIC"): the VM on
/// the far side has no offloads, so <see cref="SoftwareOffload"/> cuts the job into MSS-sized
/// frames as before, but they are gathered in the sending thread's batch and leave with one
/// sendmmsg(2) per batch, not one sendto(2) each. Where there is no sendmmsg (macOS) each frame
/// is its own send.</summary>
internal static class DatagramJobSender
{
    /// <summary>44 frames of MTU 1500 are one 64 KiB job; 128 KiB holds it with room to spare
    /// (a job at a larger MTU fills the buffer and goes in several calls).</summary>
    private const int BatchMessages = 64, BatchBytes = 128 * 1024;

    [ThreadStatic] private static Gatherer? t_gatherer;

    /// <summary>Sends the frames <paramref name="frame"/> stands for; false when a frame could not
    /// be made or any was dropped (the caller counts one drop, as for a plain frame).</summary>
    public static bool Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload, IDatagramBatchTarget target)
    {
        if (offload.IsPlain) return target.SendOne(frame);
        if (!DatagramBatch.IsSupported) return SoftwareOffload.Deliver(frame, offload, target, static (t, f) => t.SendOne(f));
        var g = t_gatherer ??= new Gatherer();
        g.Target = target;
        g.AllSent = true;
        g.Batch.Clear();
        try
        {
            bool made = SoftwareOffload.Deliver(frame, offload, g, static (g, f) => g.Add(f));
            if (g.Batch.Count > 0) g.Flush();
            return made && g.AllSent;
        }
        finally { g.Target = null; }
    }

    private sealed class Gatherer
    {
        public readonly DatagramBatch Batch = new(BatchMessages, BatchBytes);
        public IDatagramBatchTarget? Target;
        public bool AllSent;

        public bool Add(ReadOnlySpan<byte> frame)
        {
            if (Batch.TryAdd(frame)) return true;
            Flush();
            if (Batch.TryAdd(frame)) return true;
            // Longer than the whole batch: on its own.
            bool sent = Target!.SendOne(frame);
            AllSent &= sent;
            return true;
        }

        public void Flush()
        {
            AllSent &= Target!.SendBatch(Batch);
            Batch.Clear();
        }
    }
}
