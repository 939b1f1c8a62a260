using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Switchyard.Network.Gateway;
using Switchyard.Network.Tcp;
using Switchyard.Packets;

namespace Switchyard.Network.Dns;

/// <summary>DNS over TCP on the gateway (RFC 7766): the server side of TCP (RFC 9293), only as
/// much as a request/response service needs. In-order data only (a segment that is not the next
/// expected one is answered with a duplicate ACK, so the guest retransmits); our replies are
/// kept until acknowledged and retransmitted every 200 ms, six times at most; no window scaling, so the
/// guest's window is its raw 16-bit field. Any other TCP port on the gateway gets a RST. Both
/// families: an IPv4 client's address is held IPv4-mapped (::ffff:a.b.c.d), like the NAT's flows.</summary>
internal sealed class DnsTcpResponder
{
    private const int MaxMessage = 65535 + 2;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);   // RFC 7766 §6.2.3 suggests seconds, not minutes
    private static readonly TimeSpan InitialRto = TimeSpan.FromMilliseconds(200);
    private const int MaxRetransmits = 6;
    /// <summary>Connections open at once per network, and bytes of answers queued per connection:
    /// a guest that opens ports by the thousand or never reads gets RSTs, not the daemon's memory.</summary>
    internal const int MaxConnections = 256, MaxQueuedAnswers = 256 * 1024;

    private readonly GuestReplies _replies;
    private readonly DnsServer _dns;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(Ipv6Address, ushort), Connection> _connections = new();

    public DnsTcpResponder(GuestReplies replies, DnsServer dns, ILogger logger, TimeProvider time)
    {
        _replies = replies;
        _dns = dns;
        _logger = logger;
        _time = time;
    }

    public int ConnectionCount => _connections.Count;

    public void Handle(MacAddress clientMac, in Ipv4Packet ip, bool verifyChecksum = true)
    {
        if (!TcpSegment.TryParse(ip.Payload, out var seg) || (verifyChecksum && !seg.IsChecksumValid(ip.Source, ip.Destination)))
        {
            _replies.Counters.CountDrop(Switching.DropReason.Malformed);
            return;
        }
        Handle(clientMac, Ipv6Address.MapIpv4(ip.Source), Ipv6Address.MapIpv4(ip.Destination), seg);
    }

    /// <summary>A segment to one of the gateway's IPv6 addresses (<paramref name="ip"/>'s destination answers).</summary>
    public void Handle(MacAddress clientMac, in Ipv6Packet ip, bool verifyChecksum = true)
    {
        if (!TcpSegment.TryParse(ip.Payload, out var seg) || (verifyChecksum && !seg.IsChecksumValid(ip.Source, ip.Destination)))
        {
            _replies.Counters.CountDrop(Switching.DropReason.Malformed);
            return;
        }
        Handle(clientMac, ip.Source, ip.Destination, seg);
    }

    private void Handle(MacAddress clientMac, Ipv6Address client, Ipv6Address server, in TcpSegment seg)
    {
        var key = (client, seg.SourcePort);
        if (seg.DestinationPort != 53)
        {
            SendReset(clientMac, client, server, seg);
            return;
        }
        if (seg.Has(TcpFlags.Syn) && !seg.Has(TcpFlags.Ack))
        {
            if (!_connections.TryGetValue(key, out var conn))
            {
                if (_connections.Count >= MaxConnections) { SendReset(clientMac, client, server, seg); return; }
                conn = new Connection(this, clientMac, client, server, seg.SourcePort, seg);
                if (!_connections.TryAdd(key, conn)) return;
                conn.OnSegment(seg);   // sends the SYN-ACK
            }
            else conn.OnSegment(seg);
            return;
        }
        if (_connections.TryGetValue(key, out var existing)) existing.OnSegment(seg);
        else if (!seg.Has(TcpFlags.Rst)) SendReset(clientMac, client, server, seg);
    }

    /// <summary>RFC 9293 §3.10.7.1: a RST for a segment that belongs to no connection.</summary>
    private void SendReset(MacAddress mac, Ipv6Address client, Ipv6Address server, in TcpSegment seg)
    {
        if (seg.TryGetReset(out uint seq, out uint ack, out var flags))
            SendSegment(mac, client, server, seg.DestinationPort, seg.SourcePort, seq, ack, flags, 0, default, default);
    }

    private void SendSegment(MacAddress mac, Ipv6Address client, Ipv6Address server, ushort srcPort, ushort dstPort, uint seq, uint ack, TcpFlags flags,
        ushort window, ReadOnlySpan<byte> options, ReadOnlySpan<byte> payload)
    {
        var frame = GuestReplies.Frame;
        if (client.IsIpv4Mapped)
        {
            var l4 = frame[EthernetFrameWriter.L4Offset..];
            payload.CopyTo(l4[TcpSegment.HeaderLengthFor(options.Length)..]);
            int len = TcpSegment.Write(l4, _replies.Address, client.MappedIpv4, srcPort, dstPort, seq, ack, flags, window, options, payload.Length);
            _replies.SendIpv4(frame, mac, _replies.Address, client.MappedIpv4, IpProtocol.Tcp, len);
            return;
        }
        var l4v6 = frame[EthernetFrameWriter.Ipv6L4Offset..];
        int hl = TcpSegment.WriteHeader(l4v6, srcPort, dstPort, seq, ack, flags, window, options);
        payload.CopyTo(l4v6[hl..]);
        Ipv6Packet.WriteChecksum(l4v6[..(hl + payload.Length)], server, client, IpProtocol.Tcp, 16);
        _replies.SendIpv6(frame, mac, server, client, IpProtocol.Tcp, hl + payload.Length);
    }

    private sealed class Connection
    {
        private readonly DnsTcpResponder _owner;
        private readonly MacAddress _mac;
        private readonly Ipv6Address _client, _server;
        private readonly ushort _port;
        private readonly object _lock = new();
        private readonly byte[] _in = new byte[MaxMessage];
        private int _inLength;
        private readonly MemoryStream _out = new();   // bytes from _sndUna on
        private readonly ITimer _timer;
        private readonly uint _iss;
        private uint _sndUna, _sndNxt, _rcvNxt;
        private int _peerWindow;
        private readonly int _mss;
        private bool _established, _peerFin, _finQueued, _finSent, _closed;
        private int _pendingQueries, _retransmits;
        private long _lastActivity;   // the owner's TimeProvider timestamp

        public Connection(DnsTcpResponder owner, MacAddress mac, Ipv6Address client, Ipv6Address server, ushort port, in TcpSegment syn)
        {
            _owner = owner; _mac = mac; _client = client; _server = server; _port = port;
            _iss = (uint)Random.Shared.Next();
            _sndUna = _iss;
            _sndNxt = _iss + 1;
            _rcvNxt = syn.SequenceNumber + 1;
            _peerWindow = syn.Window;
            // RFC 9293 §3.7.1: send no more than the peer's MSS (536 when it gave none).
            _mss = Math.Min((int)(syn.ReadOptions().Mss ?? 536), OurMss);
            _lastActivity = owner._time.GetTimestamp();
            _timer = owner._time.CreateTimer(static s => ((Connection)s!).OnTimer(), this, InitialRto, InitialRto);
        }

        private ushort Window => (ushort)Math.Min(MaxMessage - _inLength, 65535);

        public void OnSegment(in TcpSegment seg)
        {
            lock (_lock)
            {
                if (_closed) return;
                _lastActivity = _owner._time.GetTimestamp();
                if (seg.Has(TcpFlags.Rst)) { Close(); return; }
                if (seg.Has(TcpFlags.Syn))
                {
                    // The first SYN, or a retransmitted one because our SYN-ACK was lost.
                    if (!_established && seg.SequenceNumber + 1 == _rcvNxt) SendSynAck();
                    return;
                }
                if (!seg.Has(TcpFlags.Ack)) return;
                uint ack = seg.AcknowledgmentNumber;
                if (SequenceNumbers.AcknowledgesNew(ack, _sndUna, _sndNxt))
                {
                    int acked = (int)(ack - _sndUna);
                    if (!_established) { _established = true; acked--; }
                    if (_finSent && ack == _sndNxt) acked = Math.Max(0, acked - 1);
                    TrimAcked(acked);
                    _sndUna = ack;
                    _retransmits = 0;
                }
                _peerWindow = seg.Window;
                if (!_established) return;

                bool needAck = false;
                var payload = seg.Payload;
                if (payload.Length > 0 || seg.Has(TcpFlags.Fin))
                {
                    needAck = true;
                    if (seg.SequenceNumber == _rcvNxt)
                    {
                        if (payload.Length > _in.Length - _inLength) { Abort(); return; }
                        payload.CopyTo(_in.AsSpan(_inLength));
                        _inLength += payload.Length;
                        _rcvNxt += (uint)payload.Length;
                        if (seg.Has(TcpFlags.Fin)) { _rcvNxt++; _peerFin = true; }
                        TakeQueries();
                    }
                }
                bool sent = PushData();
                if (needAck && !sent) SendFlags(TcpFlags.Ack);
                if (_finSent && _peerFin && _sndUna == _sndNxt) Close();
            }
        }

        /// <summary>Each DNS message on TCP is preceded by a two-byte length (RFC 1035 §4.2.2).</summary>
        private void TakeQueries()
        {
            while (_inLength >= 2)
            {
                int len = BinaryPrimitives.ReadUInt16BigEndian(_in);
                if (_inLength < 2 + len) break;
                byte[] query = _in.AsSpan(2, len).ToArray();
                _in.AsSpan(2 + len, _inLength - 2 - len).CopyTo(_in);
                _inLength -= 2 + len;
                _pendingQueries++;
                _ = Answer(query);
            }
            if (_peerFin && _pendingQueries == 0) _finQueued = true;
        }

        private async Task Answer(byte[] query)
        {
            var response = new byte[65535];
            int len = 0;
            try { len = await _owner._dns.ResolveAsync(query, response, _mac).ConfigureAwait(false); }
            catch (Exception e) { GatewayLog.DnsFailed(_owner._logger, e); }
            lock (_lock)
            {
                if (_closed) return;
                if (_out.Length + len + 2 > MaxQueuedAnswers) { Abort(); return; }
                if (len > 0)
                {
                    Span<byte> prefix = stackalloc byte[2];
                    BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)len);
                    _out.Seek(0, SeekOrigin.End);
                    _out.Write(prefix);
                    _out.Write(response, 0, len);
                }
                if (--_pendingQueries == 0 && _peerFin) _finQueued = true;
                PushData();
            }
        }

        private void TrimAcked(int bytes)
        {
            if (bytes <= 0) return;
            var buf = _out.GetBuffer();
            int remaining = (int)_out.Length - bytes;
            Buffer.BlockCopy(buf, bytes, buf, 0, Math.Max(0, remaining));
            _out.SetLength(Math.Max(0, remaining));
        }

        /// <summary>Sends what the peer's window allows; returns whether anything went out.</summary>
        private bool PushData()
        {
            bool sent = false;
            var buf = _out.GetBuffer();
            // Our FIN takes a sequence number but no byte of _out; once it is acknowledged nothing is in flight.
            int inFlight = (int)(_sndNxt - _sndUna) - (_finSent && _sndUna != _sndNxt ? 1 : 0);
            while (inFlight < _out.Length && inFlight < _peerWindow)
            {
                int n = Math.Min(Math.Min(_mss, (int)_out.Length - inFlight), _peerWindow - inFlight);
                _owner.SendSegment(_mac, _client, _server, 53, _port, _sndNxt, _rcvNxt, TcpFlags.Ack | TcpFlags.Psh, Window, default, buf.AsSpan(inFlight, n));
                _sndNxt += (uint)n;
                inFlight += n;
                sent = true;
            }
            if (_finQueued && !_finSent && inFlight == _out.Length)
            {
                _owner.SendSegment(_mac, _client, _server, 53, _port, _sndNxt, _rcvNxt, TcpFlags.Fin | TcpFlags.Ack, Window, default, default);
                _sndNxt++;
                _finSent = true;
                sent = true;
            }
            return sent;
        }

        /// <summary>What a 1500-byte link carries after the IP and TCP headers.</summary>
        private ushort OurMss => _client.IsIpv4Mapped ? (ushort)1460 : (ushort)1440;

        private void SendSynAck()
        {
            Span<byte> opts = stackalloc byte[4];
            TcpOptions.WriteSynOptions(opts, OurMss, null);
            _owner.SendSegment(_mac, _client, _server, 53, _port, _iss, _rcvNxt, TcpFlags.Syn | TcpFlags.Ack, Window, opts, default);
        }

        private void SendFlags(TcpFlags flags) =>
            _owner.SendSegment(_mac, _client, _server, 53, _port, _sndNxt, _rcvNxt, flags, Window, default, default);

        private void OnTimer()
        {
            // Runs on a timer thread: an exception here would end the process.
            try { Retransmit(); }
            catch (Exception e) when (e is not OutOfMemoryException) { GatewayLog.DnsFailed(_owner._logger, e); }
        }

        private void Retransmit()
        {
            lock (_lock)
            {
                if (_closed) return;
                if (_owner._time.GetElapsedTime(_lastActivity) > IdleTimeout) { Abort(); return; }
                if (_sndUna == _sndNxt) return; // nothing outstanding
                if (++_retransmits > MaxRetransmits) { Abort(); return; }
                if (!_established) { SendSynAck(); return; }
                // Go back to the oldest unacknowledged byte (RFC 9293 §3.8.1, RFC 6298 §5.4).
                _sndNxt = _sndUna;
                _finSent = false;
                PushData();
            }
        }

        private void Abort()
        {
            SendFlags(TcpFlags.Rst | TcpFlags.Ack);
            Close();
        }

        private void Close()
        {
            _closed = true;
            _timer.Dispose();
            _owner._connections.TryRemove(new((_client, _port), this));
        }
    }
}
