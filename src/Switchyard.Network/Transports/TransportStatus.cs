namespace Switchyard.Network.Transports;

/// <summary>What a socket transport reports about its link to the VM process.</summary>
public sealed class TransportStatus
{
    private long _connects, _disconnects, _protocolErrors, _foreign;
    private volatile string _state;

    public TransportStatus(string initial) => _state = initial;

    /// <summary>listening, connecting, connected, waiting-for-peer, closed.</summary>
    public string State { get => _state; set => _state = value; }
    public long Connects => Volatile.Read(ref _connects);
    public long Disconnects => Volatile.Read(ref _disconnects);
    /// <summary>Connections dropped for breaking the framing (bad length prefix, truncated frame).</summary>
    public long ProtocolErrors => Volatile.Read(ref _protocolErrors);
    public string? LastError { get; set; }
    /// <summary>Datagrams dropped because they came from a source other than the endpoint's peer
    /// (udp; dgram while its peer is still bound).</summary>
    public long ForeignDatagrams => Volatile.Read(ref _foreign);
    /// <summary>Datagram transports: the peer frames go to, given or learnt (null until known).</summary>
    public string? Peer { get; set; }

    public void Connected() { Interlocked.Increment(ref _connects); State = "connected"; }
    public void Disconnected(string next) { Interlocked.Increment(ref _disconnects); State = next; }
    public void Foreign() => Interlocked.Increment(ref _foreign);
    /// <summary>The error first, then the count: whoever sees the count go up also sees the error.</summary>
    public void ProtocolError(string error) { LastError = error; Interlocked.Increment(ref _protocolErrors); }
}

/// <summary>A transport whose link can come and go (unix sockets), as opposed to a TAP device.</summary>
public interface IReportingTransport
{
    TransportStatus Status { get; }
}
