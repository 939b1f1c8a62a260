using Switchyard.Network.Dhcp;
using Switchyard.Network.Dns;
using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using Switchyard.Packets.Dns;

namespace Switchyard.Fuzz;

/// <summary>The gateway's DHCP and DNS servers end to end, as GatewayPort calls them: a guest's
/// message in, the reply the server writes, and that reply read back (a reply the server wrote
/// that its own reader refuses is a finding too). No forwarder: nothing leaves the process.</summary>
internal static class ServerTargets
{
    private static readonly Ipv4Subnet Subnet = Ipv4Subnet.Parse("10.88.0.0/24");
    private static readonly Ipv4Address Gateway = Ipv4Address.Parse("10.88.0.1");
    private static readonly Ipv4Address Guest = Ipv4Address.Parse("10.88.0.5");

    private static readonly DhcpServer Dhcp = new(
        new DhcpServerOptions(Subnet, Gateway, "fuzz.internal", 1500, TimeSpan.FromHours(1)), new AnyClient());

    /// <summary>The same server for clients with no endpoint (guests behind a tunnel): every message
    /// goes to the dynamic pool, whose records stay bounded by its 14 addresses whatever the MACs.</summary>
    private static readonly DhcpServer Pooled = new(
        new DhcpServerOptions(Subnet, Gateway, "fuzz.internal", 1500, TimeSpan.FromHours(1)), new NoEndpoints(), TimeProvider.System,
        new DhcpPool(new DhcpRange(Ipv4Address.Parse("10.88.0.200"), Ipv4Address.Parse("10.88.0.213")), TimeSpan.FromHours(1), TimeProvider.System,
            _ => false, name => name == "guest"));

    private static readonly DnsServer Dns = new("fuzz.internal", Subnet, new Names(), forwarder: null,
        ipv6: Ipv6Prefix.Parse("fd00:5157:1::/64"));

    [ThreadStatic] private static byte[]? t_reply;
    private static Span<byte> Reply => t_reply ??= new byte[65536 + 64];

    /// <summary>A client message from the MAC its chaddr names (anti-spoofing vouches for the
    /// sender, so a message naming another MAC is ignored and reaches nothing).</summary>
    public static void DhcpServer(ReadOnlySpan<byte> input)
    {
        var sender = input.Length >= DhcpLayout.ChaddrOffset + MacAddress.Length ? MacAddress.Read(input[DhcpLayout.ChaddrOffset..]) : default;
        // GatewayPort writes the reply after the Ethernet, IPv4 and UDP headers of a 64 KiB frame.
        var reply = Reply[42..];
        Check(Dhcp.Handle(input, sender, reply, out bool broadcast), broadcast, reply);
        Check(Pooled.Handle(input, sender, reply, out broadcast), broadcast, reply);
        if (Pooled.Pool!.Guests.Count > 14) throw new InvalidOperationException($"the pool holds {Pooled.Pool.Guests.Count} records for 14 addresses");
    }

    private static void Check(int length, bool broadcast, Span<byte> reply)
    {
        Targets.Sink += length + (broadcast ? 1 : 0);
        if (length == 0) return;
        if (length > reply.Length) throw new InvalidOperationException($"DHCP reply of {length} bytes in a {reply.Length}-byte buffer");
        if (!DhcpMessageReader.TryParse(reply[..length], out var m) || m.MessageType is null)
            throw new InvalidOperationException("the DHCP server wrote a reply its reader refuses");
        Targets.Sink += m.YourAddress.Value + (int)m.MessageType!;
    }

    /// <summary>A query over UDP as GatewayPort handles it: at least a header, answered (locally:
    /// there is no forwarder), then truncated to what the client takes.</summary>
    public static void DnsServer(ReadOnlySpan<byte> input)
    {
        if (input.Length < DnsHeader.Length) return;
        var query = input.ToArray();
        var response = new byte[65535];
        var pending = Dns.ResolveAsync(query, response, new MacAddress(0x0200_0000_0005));
        if (!pending.IsCompletedSuccessfully) throw new InvalidOperationException("a query without a forwarder did not complete at once");
        int length = pending.Result;
        Targets.Sink += length;
        if (length <= 0) return;
        var reader = new DnsMessageReader(response.AsSpan(0, length));
        if (!reader.TryReadHeader(out var header)) throw new InvalidOperationException("the DNS server wrote a response without a header");
        for (int i = 0; i < header.QuestionCount; i++)
            if (!reader.TryReadQuestion(out _)) throw new InvalidOperationException("the DNS server wrote a question its reader refuses");
        for (int i = 0; i < header.AnswerCount + header.AuthorityCount + header.AdditionalCount; i++)
            if (!reader.TryReadRecord(out _)) throw new InvalidOperationException("the DNS server wrote a record its reader refuses");
        int maxSize = Math.Min(DnsMessage.ClientUdpPayloadSize(input), 1500 - 28);
        Targets.Sink += DnsMessage.TruncateForUdp(response.AsSpan(0, length), maxSize);
    }

    /// <summary>Every MAC is a client with an address; a DECLINE moves it to the next one.</summary>
    private sealed class AnyClient : IDhcpBindings
    {
        public bool TryGetBinding(MacAddress client, out DhcpBinding binding)
        {
            binding = new DhcpBinding("guest", Guest);
            return true;
        }

        public bool TryReassign(MacAddress client, Ipv4Address declined, out Ipv4Address replacement)
        {
            replacement = Guest + 1;
            return true;
        }

        public void OnLeaseChanged(MacAddress client, Ipv4Address address, LeaseState state, DateTimeOffset expires) => Targets.Sink++;
    }

    /// <summary>No client is an endpoint: the pool serves them all.</summary>
    private sealed class NoEndpoints : IDhcpBindings
    {
        public bool TryGetBinding(MacAddress client, out DhcpBinding binding)
        {
            binding = default;
            return false;
        }

        public bool TryReassign(MacAddress client, Ipv4Address declined, out Ipv4Address replacement)
        {
            replacement = default;
            return false;
        }

        public void OnLeaseChanged(MacAddress client, Ipv4Address address, LeaseState state, DateTimeOffset expires) { }
    }

    /// <summary>One guest and the gateway, by name and by address, both families.</summary>
    private sealed class Names : ILocalNames
    {
        public bool TryGetAddress(string host, out Ipv4Address address)
        {
            address = host.Equals("guest", StringComparison.OrdinalIgnoreCase) ? Guest
                : host.Equals("gateway", StringComparison.OrdinalIgnoreCase) ? Gateway : default;
            return !address.IsAny;
        }

        public bool TryGetName(Ipv4Address address, out string host)
        {
            host = address == Guest ? "guest" : address == Gateway ? "gateway" : "";
            return host.Length > 0;
        }

        public bool TryGetAddress(string host, out Ipv6Address address)
        {
            address = host.Equals("guest", StringComparison.OrdinalIgnoreCase) ? Ipv6Address.Parse("fd00:5157:1::5") : default;
            return !address.IsUnspecified;
        }

        public bool TryGetName(Ipv6Address address, out string host)
        {
            host = address == Ipv6Address.Parse("fd00:5157:1::5") ? "guest" : "";
            return host.Length > 0;
        }
    }
}
