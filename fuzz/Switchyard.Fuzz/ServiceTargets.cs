using Switchyard.Packets;
using Switchyard.Packets.Dhcp;
using Switchyard.Packets.Dns;
using Switchyard.Packets.Http;
using Switchyard.Packets.Tls;

namespace Switchyard.Fuzz;

/// <summary>The gateway's services (DHCP, DNS) and the egress sniffers (TLS ClientHello, HTTP
/// request head): the application-layer parsers a guest's bytes reach.</summary>
internal static class ServiceTargets
{
    [ThreadStatic] private static byte[]? t_scratch;
    [ThreadStatic] private static List<string>? t_domains;

    private static Span<byte> Scratch(int length) => (t_scratch ??= new byte[Targets.MaxInputLength]).AsSpan(0, length);

    /// <summary>A DHCPv4 message (the UDP payload): every accessor the server reads, and option 119
    /// decoded both as found and as raw bytes.</summary>
    public static void Dhcp(ReadOnlySpan<byte> input)
    {
        var domains = t_domains ??= [];
        domains.Clear();
        DhcpDomainSearch.TryDecode(input, domains);
        if (!DhcpMessageReader.TryParse(input, out var m)) return;
        Targets.Sink += m.Op + m.Hops + m.TransactionId + m.Seconds + m.Flags + (m.BroadcastFlag ? 1 : 0)
            + m.ClientAddress.Value + m.YourAddress.Value + m.ServerAddress.Value + m.RelayAddress.Value
            + (long)m.ClientHardwareAddress.Value + m.Message.Length;
        foreach (var option in m.Options) Targets.Sink += option.Code + option.Value.Length;
        Targets.Sink += (int)(m.MessageType ?? 0) + (m.RequestedIpAddress?.Value ?? 0) + (m.ServerIdentifier?.Value ?? 0)
            + (m.MaxMessageSize ?? 0) + m.ClientIdentifier.Length + m.ParameterRequestList.Length + m.HostName.Length
            + (m.Requests(DhcpOption.DomainSearch) ? 1 : 0);
        var search = Scratch(1024);
        if (m.TryCopyConcatenatedOption(DhcpOption.DomainSearch, search, out int written))
        {
            domains.Clear();
            DhcpDomainSearch.TryDecode(search[..written], domains);
            Targets.Sink += domains.Count;
        }
    }

    /// <summary>A DNS message, query or response: the forward reader over every section with each
    /// record's typed accessors, then the whole-message operations of the forwarding cache.</summary>
    public static void Dns(ReadOnlySpan<byte> input)
    {
        var reader = new DnsMessageReader(input);
        if (reader.TryReadHeader(out var header))
        {
            Targets.Sink += header.Id + header.Opcode + (int)header.ResponseCode + (header.IsResponse ? 1 : 0)
                + (header.Truncated ? 2 : 0) + (header.RecursionDesired ? 4 : 0) + (header.CheckingDisabled ? 8 : 0);
            Walk(input, header);
        }
        if (input.Length >= DnsHeader.Length) Targets.Sink += DnsMessage.ReadId(input);
        if (DnsMessage.TryGetMinimumTtl(input, out uint ttl)) Targets.Sink += ttl;
        if (DnsMessage.TryGetOpt(input, out ushort size, out bool dnssecOk)) Targets.Sink += size + (dnssecOk ? 1 : 0);
        Targets.Sink += DnsMessage.ClientUdpPayloadSize(input);

        // The in-place operations work on a copy, as the cache does on its stored response.
        var copy = Scratch(input.Length);
        input.CopyTo(copy);
        Targets.Sink += DnsMessage.TryAgeTtls(copy, 7) ? 1 : 0;
        if (copy.Length >= DnsHeader.Length)
        {
            DnsMessage.WriteId(copy, 0x1234);
            int limit = DnsHeader.Length + (input.Length > DnsHeader.Length ? input[^1] % (input.Length - DnsHeader.Length) : 0);
            int cut = DnsMessage.TruncateForUdp(copy, limit);
            Targets.Sink += cut;
            // What was cut must itself be a message the reader walks without throwing.
            var again = new DnsMessageReader(copy[..cut]);
            if (again.TryReadHeader(out var h2)) Walk(copy[..cut], h2);
        }
    }

    private static void Walk(ReadOnlySpan<byte> message, DnsHeader header)
    {
        // Twice: decoding names and skipping them are separate code paths.
        var skip = new DnsMessageReader(message);
        skip.TryReadHeader(out _);
        for (int i = 0; i < header.QuestionCount && skip.TrySkipQuestion(); i++) { }
        int records = header.AnswerCount + header.AuthorityCount + header.AdditionalCount;
        for (int i = 0; i < records && skip.TrySkipRecord(out var type, out int ttlOffset); i++) Targets.Sink += (int)type + ttlOffset;

        var reader = new DnsMessageReader(message);
        reader.TryReadHeader(out _);
        for (int i = 0; i < header.QuestionCount; i++)
        {
            if (!reader.TryReadQuestion(out var q)) return;
            Targets.Sink += q.Name.Length + (int)q.Type + (int)q.Class;
            Targets.Sink += DnsName.IsValidName(q.Name) ? 1 : 0;
            if (DnsName.TryParseReverseIpv4(q.Name, out uint v4)) Targets.Sink += v4;
            if (DnsName.TryParseReverseIpv6(q.Name, Scratch(16))) Targets.Sink++;
        }
        for (int i = 0; i < records; i++)
        {
            if (!reader.TryReadRecord(out var r)) return;
            Targets.Sink += r.Name.Length + (int)r.Type + (int)r.Class + r.Ttl + r.TtlOffset + r.DataOffset + r.Data.Length;
            if (r.TryGetIpv4(out var a)) Targets.Sink += a.Value;
            if (r.TryGetIpv6(out var aaaa)) Targets.Sink += aaaa!.GetHashCode();
            if (r.TryGetTargetName(out var target)) Targets.Sink += target.Length;
            if (r.TryGetSrv(out ushort priority, out ushort weight, out ushort port, out var srv)) Targets.Sink += priority + weight + port + srv.Length;
            if (r.TryGetTxt(out var txt)) Targets.Sink += txt.Length;
            if (r.TryGetSoa(out var mname, out var rname, out uint serial, out uint refresh, out uint retry, out uint expire, out uint minimum))
                Targets.Sink += mname.Length + rname.Length + serial + refresh + retry + expire + minimum;
        }
    }

    /// <summary>The first bytes of a TLS flow, fed as the egress sniffer sees them: the whole
    /// prefix again each time more arrives, so every prefix is a state it can be in.</summary>
    public static void Tls(ReadOnlySpan<byte> input)
    {
        foreach (int n in Prefixes(input))
        {
            var result = TlsClientHello.TryGetServerName(input[..n], out var name);
            Targets.Sink += (int)result + (name?.Length ?? 0);
            if (result == ServerNameResult.Found && (name is null || name.Length == 0)) throw new InvalidOperationException("Found without a name");
        }
    }

    /// <summary>The first bytes of a plaintext HTTP flow, as <see cref="Tls"/>.</summary>
    public static void Http(ReadOnlySpan<byte> input)
    {
        Targets.Sink += HttpRequestHead.LooksLikeHttp(input) ? 1 : 0;
        foreach (int n in Prefixes(input))
        {
            var result = HttpRequestHead.TryGetHost(input[..n], out var host);
            Targets.Sink += (int)result + (host?.Length ?? 0);
            if (result == ServerNameResult.Found && (host is null || host.Length == 0)) throw new InvalidOperationException("Found without a host");
        }
        HttpStream(input);
    }

    /// <summary>The whole stream as the egress check walks it: each request head parsed, its body
    /// (Content-Length or chunked) skipped by <see cref="HttpRequestFraming"/>, the next head read.</summary>
    private static void HttpStream(ReadOnlySpan<byte> input)
    {
        var framing = new HttpRequestFraming();
        int pos = 0;
        // Each round takes at least one byte or ends; the bound only guards the harness.
        for (int round = 0; round <= input.Length + 2 && pos < input.Length; round++)
        {
            if (framing.AtHead)
            {
                var status = HttpRequestHead.TryParse(input[pos..], out var head);
                Targets.Sink += (int)status;
                if (status != HttpHeadStatus.Complete) return;
                if (head.Length <= 0 || head.Length > input.Length - pos) throw new InvalidOperationException($"a head of {head.Length} bytes at {pos} of {input.Length}");
                Targets.Sink += head.Host.Length + head.ContentLength + (head.Chunked ? 1 : 0) + (head.Connect ? 2 : 0) + (head.Upgrade ? 4 : 0);
                framing.Begin(head);
                pos += head.Length;
                continue;
            }
            if (framing.IsOpaque) return;
            int taken = framing.Consume(input[pos..]);
            if (taken < 0) return;
            if (taken > input.Length - pos) throw new InvalidOperationException($"framing took {taken} of {input.Length - pos} bytes");
            if (taken == 0 && !framing.AtHead && !framing.IsOpaque) return;
            pos += taken;
        }
    }

    /// <summary>The whole input, and a few of its prefixes (where a segment boundary might fall).</summary>
    private static IEnumerable<int> Prefixes(ReadOnlySpan<byte> input)
    {
        int n = input.Length;
        return n < 2 ? [n] : [n, n - 1, n / 2, 1 + input[0] % (n - 1)];
    }
}
