namespace Switchyard.Packets;

/// <summary>What a first-bytes sniffer (<see cref="Tls.TlsClientHello"/>, <see cref="Http.HttpRequestHead"/>)
/// could tell about the name a new TCP flow is for. The caller feeds the whole stream prefix again each time
/// more bytes arrive and keeps waiting only while the answer is <see cref="NeedMore"/>.</summary>
public enum ServerNameResult
{
    /// <summary>A longer prefix could still change the answer.</summary>
    NeedMore,
    /// <summary>The message is complete and names a server; the name is returned.</summary>
    Found,
    /// <summary>The message is complete and well formed but names no server.</summary>
    Absent,
    /// <summary>The first bytes cannot start this protocol.</summary>
    NotThisProtocol,
    /// <summary>This protocol, but broken, oversized or ambiguous: no more bytes can make it acceptable.</summary>
    Malformed,
}
