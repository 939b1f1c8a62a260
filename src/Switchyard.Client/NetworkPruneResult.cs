namespace Switchyard.Client;

/// <summary>The answer of <c>POST /networks/prune</c>: what was removed, and what matched but was kept.</summary>
public sealed record NetworkPruneResult
{
    /// <summary>Networks removed: each had no endpoints (never <c>default</c>).</summary>
    public required IReadOnlyList<string> Removed { get; init; }
    /// <summary>Networks without endpoints the caller may not remove (a member and a bridged network), with the reason.</summary>
    public IReadOnlyList<PruneKept>? Kept { get; init; }
}

public sealed record PruneKept
{
    public required string Name { get; init; }
    public required string Reason { get; init; }
}
