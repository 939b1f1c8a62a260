namespace Switchyard.Daemon.Control;

/// <summary>Who asked for a change: the credentials the kernel recorded for the API connection
/// (SO_PEERCRED and SO_PEERGROUPS; see <c>Api/CallerIdentity</c>). Not something a request can claim.</summary>
/// <param name="Pid">The caller's pid when it connected, for the log.</param>
/// <param name="Groups">Its supplementary groups; with <see cref="Gid"/>, the groups file permissions grant it.</param>
internal sealed record Caller(uint Uid, uint Gid, IReadOnlyList<uint> Groups, int Pid)
{
    /// <summary>The daemon itself (restoring state, detaching a handed-over endpoint whose VM went away).</summary>
    public static Caller Daemon { get; } = new(Platform.ProcessIdentity.EffectiveUserId, 0, [], Environment.ProcessId);

    public bool InGroup(uint gid) => Gid == gid || Groups.Contains(gid);

    public override string ToString() => $"uid {Uid} (gid {Gid}, pid {Pid})";
}
