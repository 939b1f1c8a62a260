using Switchyard.Daemon.State;
using Switchyard.Network;
using Switchyard.Network.Nat;

namespace Switchyard.Daemon.Control;

/// <summary>An endpoint the daemon knows: its stored row, and its live port when the transport
/// is up (after a restart a transport may fail to come back, e.g. its namespace is gone: the
/// endpoint is then kept, "down", with the reason).</summary>
internal sealed class EndpointRecord
{
    public required EndpointRow Row { get; init; }
    public required StoredTransport Transport { get; init; }
    public required EndpointConfig Config { get; set; }
    public EndpointPort? Port { get; set; }
    public string? Error { get; set; }
    /// <summary>Its published ports, in the order published (see <see cref="NetworkRegistry"/>: changed
    /// under the gate inside <see cref="NetworkRegistry.Write"/>, read inside <see cref="NetworkRegistry.Read{T}"/>).</summary>
    public List<PublishedRecord> Published { get; } = [];
}

/// <summary>One published port of an endpoint: listening (<see cref="Handle"/>), or not, with the
/// reason (restored at startup while the host port was taken).</summary>
internal sealed class PublishedRecord
{
    public required PublishedPort Spec { get; init; }
    public IDisposable? Handle { get; set; }
    public string? Error { get; set; }
    public string Text => Spec.ToString();
}
