namespace Switchyard.Packets.Dhcp;

/// <summary>Builds client messages (BOOTREQUEST, op 1), for tests and diagnostics tools.</summary>
public static class DhcpClientMessage
{
    /// <summary>Writes a DHCPDISCOVER/REQUEST/DECLINE/RELEASE/INFORM with options 53, 50, 54, 55, 12 and
    /// a client identifier 61 of type 1 + chaddr (RFC 2132 §9.14), ended and padded to 300 bytes. Which
    /// fields a given message type should carry (RFC 2131 §4.4.1 table 5) is the caller's choice.
    /// Returns the length, or 0 if the buffer is too small or an argument cannot be encoded.</summary>
    public static int WriteRequest(Span<byte> buffer, DhcpMessageType type, uint xid, MacAddress chaddr,
        Ipv4Address ciaddr = default, Ipv4Address? requested = null, Ipv4Address? serverId = null,
        ReadOnlySpan<byte> parameterRequestList = default, string? hostName = null)
    {
        var writer = new DhcpMessageWriter(buffer);
        if (!writer.TryWriteRequestHeader(xid, chaddr, ciaddr)) return 0;
        if (!writer.TryWriteMessageType(type)) return 0;
        Span<byte> clientId = stackalloc byte[1 + MacAddress.Length];
        clientId[0] = DhcpLayout.HardwareTypeEthernet;
        chaddr.Write(clientId[1..]);
        if (!writer.TryWriteRaw(DhcpOption.ClientIdentifier, clientId)) return 0;
        if (requested is { } r && !writer.TryWriteAddress(DhcpOption.RequestedIpAddress, r)) return 0;
        if (serverId is { } s && !writer.TryWriteAddress(DhcpOption.ServerIdentifier, s)) return 0;
        if (!parameterRequestList.IsEmpty && !writer.TryWriteRaw(DhcpOption.ParameterRequestList, parameterRequestList)) return 0;
        if (hostName is not null && !writer.TryWriteString(DhcpOption.HostName, hostName)) return 0;
        return writer.Finish();
    }
}
