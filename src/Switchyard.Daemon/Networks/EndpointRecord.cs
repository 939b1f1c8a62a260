using Switchyard.Client;
using Switchyard.Daemon.State;
using Switchyard.Network;

namespace Switchyard.Daemon.Networks;

/// <summary>An endpoint the daemon knows: its stored row, and its live port when the transport
/// is up (after a restart a transport may fail to come back, e.g. its namespace is gone: the
/// endpoint is then kept, "down", with the reason).</summary>
internal sealed class EndpointRecord
{
    public required EndpointRow Row { get; init; }
    public required TransportSpec Transport { get; init; }
    public required EndpointConfig Config { get; set; }
    public EndpointPort? Port { get; set; }
    public string? Error { get; set; }
}
