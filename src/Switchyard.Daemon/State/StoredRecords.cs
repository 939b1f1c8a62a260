using System.Text.Json;
using System.Text.Json.Serialization;
using Switchyard.Network.Egress;

namespace Switchyard.Daemon.State;

/// <summary>How an endpoint's frames reach it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TransportKind>))]
public enum TransportKind
{
    /// <summary>A TAP device, in a guest's namespace or the daemon's.</summary>
    [JsonStringEnumMemberName("tap")] Tap,
    /// <summary>A unix stream socket (4-byte big-endian length before each frame).</summary>
    [JsonStringEnumMemberName("stream")] Stream,
    /// <summary>A unix datagram socket, a frame per datagram.</summary>
    [JsonStringEnumMemberName("dgram")] Dgram,
    /// <summary>One end of a socket pair handed to the caller (the fd handoff).</summary>
    [JsonStringEnumMemberName("fd")] Fd,
    /// <summary>A UDP socket, a frame per datagram (QEMU -netdev dgram/socket with inet addresses, libvirt type='udp').
    /// Listen and Peer hold ADDR:PORT instead of paths.</summary>
    [JsonStringEnumMemberName("udp")] Udp,
}

/// <summary>An endpoint's transport as the daemon stores it (the <c>transport</c> column): the
/// normalised request, without the live status. Its JSON is the text earlier versions wrote from
/// the wire type TransportSpec, so state.db stays the same; the wire type may change apart from it.</summary>
public sealed record StoredTransport
{
    public required TransportKind Kind { get; init; }
    public string? Listen { get; init; }
    public string? Connect { get; init; }
    public string? Peer { get; init; }
    public bool Stream { get; init; }
    public bool LearnMac { get; init; }
    public string? Netns { get; init; }
    public string? NetnsPath { get; init; }
    public string? Ifname { get; init; }
    public bool Configure { get; init; }

    /// <summary>A tap endpoint in a guest's namespace (by name or path), not a TAP device of the daemon's.</summary>
    [JsonIgnore] public bool InNamespace => Kind == TransportKind.Tap && (Netns ?? NetnsPath) is not null;

    public string ToJson() => JsonSerializer.Serialize(this, StoredJsonContext.Default.StoredTransport);
    public static StoredTransport FromJson(string json) =>
        JsonSerializer.Deserialize(json, StoredJsonContext.Default.StoredTransport) ?? throw new FormatException("empty transport in state.db");
}

/// <summary>An egress policy as the daemon stores it (the <c>egress</c> columns); the JSON earlier
/// versions wrote from the wire type EgressPolicySpec.</summary>
public sealed record StoredEgressPolicy
{
    public required string Default { get; init; }
    public IReadOnlyList<string>? Allow { get; init; }
    public IReadOnlyList<string>? Deny { get; init; }

    public static string? ToJson(EgressPolicy? policy) => policy is null ? null : JsonSerializer.Serialize(new StoredEgressPolicy
    {
        Default = policy.DefaultText,
        Allow = policy.Allow.Select(r => r.ToString()).ToList(),
        Deny = policy.Deny.Select(r => r.ToString()).ToList(),
    }, StoredJsonContext.Default.StoredEgressPolicy);

    /// <summary>A stored policy (written by <see cref="ToJson"/>, so it parses).</summary>
    public static EgressPolicy? FromJson(string? json) =>
        json is null || JsonSerializer.Deserialize(json, StoredJsonContext.Default.StoredEgressPolicy) is not { } p
            ? null : Planning.RuleSpecs.CreatePolicy(p.Default, p.Allow, p.Deny);
}

/// <summary>The options the wire types' context used when these columns were first written
/// (web defaults, nulls left out, indented), so the stored text does not change.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(StoredTransport))]
[JsonSerializable(typeof(StoredEgressPolicy))]
internal sealed partial class StoredJsonContext : JsonSerializerContext;
