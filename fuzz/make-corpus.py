#!/usr/bin/env python3
"""Writes the seed corpus, fuzz/corpus/TARGET/*: a few valid inputs per target, cut from the
test captures in test/Switchyard.Packets.Tests/Data (real udhcpc, dig/dnsmasq, ping and TCP
traffic) and built here where no capture has them (IPv6, ND, TLS, HTTP, framing, virtio-net, VXLAN).
Deterministic: running it again rewrites the same files. Usage: fuzz/make-corpus.py"""
import os, shutil, struct

ROOT = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(ROOT, '..', 'test', 'Switchyard.Packets.Tests', 'Data')
OUT = os.path.join(ROOT, 'corpus')

def pcap(name):
    d = open(os.path.join(DATA, name), 'rb').read()
    p, frames = 24, []
    while p < len(d):
        _, _, caplen, _ = struct.unpack('<IIII', d[p:p + 16])
        frames.append(d[p + 16:p + 16 + caplen]); p += 16 + caplen
    return frames

def csum(data):
    if len(data) % 2: data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

GUEST_MAC = bytes.fromhex('020000000001'); GW_MAC = bytes.fromhex('020000000002')
def eth(dst, src, etype, payload): return dst + src + struct.pack('!H', etype) + payload
def ll(mac):  # EUI-64 link-local (RFC 4291 Appendix A)
    return bytes.fromhex('fe80000000000000') + bytes([mac[0] ^ 2]) + mac[1:3] + b'\xff\xfe' + mac[3:6]
ALL_NODES = bytes.fromhex('ff020000000000000000000000000001'); ALL_ROUTERS = bytes.fromhex('ff020000000000000000000000000002')

def ipv6(src, dst, nh, payload, upper=None, ext=b''):
    """An IPv6 packet; `upper` (protocol, checksum offset) fills the upper layer's checksum."""
    if upper:
        proto, off = upper
        pseudo = src + dst + struct.pack('!IxxxB', len(payload), proto)
        payload = payload[:off] + struct.pack('!H', csum(pseudo + payload)) + payload[off + 2:]
    body = ext + payload
    return struct.pack('!IHBB', 0x60000000, len(body), nh, 255) + src + dst + body

def icmpv6(type_, code, rest, src, dst, ext=b'', nh=58):
    return ipv6(src, dst, nh, bytes([type_, code, 0, 0]) + rest, (58, 2), ext)

def ipv4(src, dst, proto, payload, ident=1):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload

def tcp(sport, dport, seq, flags, payload=b'', options=b''):
    hl = 20 + len(options)
    return struct.pack('!HHIIBBHHH', sport, dport, seq, 0, (hl // 4) << 4, flags, 65535, 0, 0) + options + payload

def client_hello(sni, sni_type=0):
    """A TLS 1.3 ClientHello (RFC 8446 §4.1.2) with server_name (RFC 6066 §3) and supported_versions."""
    name = sni.encode()
    sn = struct.pack('!HBH', len(name) + 3, 0, len(name)) + name
    exts = struct.pack('!HH', sni_type, len(sn)) + sn + struct.pack('!HHBH', 43, 3, 2, 0x0304)
    body = b'\x03\x03' + bytes(range(32)) + b'\x20' + bytes(32) + struct.pack('!H', 4) + b'\x13\x01\x13\x02' + b'\x01\x00'
    body += struct.pack('!H', len(exts)) + exts
    hs = b'\x01' + struct.pack('!I', len(body))[1:] + body
    return b'\x16\x03\x01' + struct.pack('!H', len(hs)) + hs, hs

def main():
    if os.path.isdir(OUT): shutil.rmtree(OUT)
    seeds = {}
    def add(target, name, data): seeds.setdefault(target, []).append((name, data))

    core, dhcp, dns = pcap('core-ping-tcp.pcap'), pcap('dhcp-udhcpc.pcap'), pcap('dig-dnsmasq.pcap')
    for i, f in enumerate(core[:6] + dhcp[:2] + dns[:2]): add('ethernet', 'capture-%02d' % i, f)
    for f in core:
        et, l3 = struct.unpack('!H', f[12:14])[0], f[14:]
        if et == 0x0806: add('arp', 'arp-%d' % len(seeds.get('arp', [])), l3); continue
        ihl, proto = (l3[0] & 15) * 4, l3[9]
        kind = {1: 'icmp', 6: 'tcp', 17: 'udp'}.get(proto)
        if kind and len(seeds.get(kind, [])) < 4: add(kind, '%s-%d' % (kind, len(seeds.get(kind, []))), l3[ihl:])
        if len(seeds.get('ipv4', [])) < 4 and (proto != 6 or not any(n.startswith('ipv4-tcp') for n, _ in seeds.get('ipv4', []))):
            add('ipv4', 'ipv4-%s-%d' % (kind, len(seeds.get('ipv4', []))), l3)
    for i, f in enumerate(dhcp[:4]):
        ihl = (f[14] & 15) * 4; add('dhcp', 'udhcpc-%d' % i, f[14 + ihl + 8:])
    for i, f in enumerate(dns[:4]):
        ihl = (f[14] & 15) * 4; add('dns', 'dig-%d' % i, f[14 + ihl + 8:])
    seeds['dhcp-server'] = [(n, d) for n, d in seeds['dhcp'] if d[0] == 1]
    # Queries the server answers itself: A and AAAA for a local name, PTR for its address.
    def query(name, qtype):
        q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
        return struct.pack('!HHHHHH', 0x4242, 0x0100, 1, 0, 0, 1) + q + struct.pack('!HH', qtype, 1) + b'\0\0\x29\x04\xd0\0\0\0\0\0\0'
    seeds['dns-server'] = [('a-local', query('guest.fuzz.internal', 1)), ('aaaa-local', query('guest', 28)),
                           ('ptr-local', query('5.0.88.10.in-addr.arpa', 12)), ('a-other', query('example.com', 1))]
    add('udp', 'dhcp-discover', dhcp[0][34:])
    add('udp', 'dns-query', dns[0][34:])

    gw_ll, guest_ll = ll(GW_MAC), ll(GUEST_MAC)
    prefix_info = bytes([3, 4, 64, 0xC0]) + struct.pack('!III', 86400, 14400, 0) + bytes.fromhex('fd005157000100000000000000000000')
    ra_rest = bytes([64, 0]) + struct.pack('!HII', 1800, 0, 0) + bytes([1, 1]) + GW_MAC + bytes([5, 1, 0, 0]) + struct.pack('!I', 1500) + prefix_info
    ns_rest = bytes(4) + gw_ll + bytes([1, 1]) + GUEST_MAC
    hop_by_hop = bytes([58, 0, 5, 2, 0, 0, 1, 0])  # Router Alert (RFC 2711) then PadN
    packets = {
        'rs': icmpv6(133, 0, bytes(4) + bytes([1, 1]) + GUEST_MAC, guest_ll, ALL_ROUTERS),
        'ra': icmpv6(134, 0, ra_rest, gw_ll, ALL_NODES),
        'ra-behind-hop-by-hop': icmpv6(134, 0, ra_rest, guest_ll, ALL_NODES, ext=hop_by_hop, nh=0),
        'ns': icmpv6(135, 0, ns_rest, guest_ll, bytes.fromhex('ff0200000000000000000001ff000002')),
        'na': icmpv6(136, 0, bytes([0x60, 0, 0, 0]) + guest_ll + bytes([2, 1]) + GUEST_MAC, guest_ll, gw_ll),
        'echo': icmpv6(128, 0, struct.pack('!HH', 7, 1) + b'ping', guest_ll, gw_ll),
        'udp-dns': ipv6(guest_ll, gw_ll, 17, struct.pack('!HHHH', 40000, 53, 8 + len(dns[0][42:]), 0) + dns[0][42:], (17, 6)),
        'fragment-first': ipv6(guest_ll, gw_ll, 44, bytes([58, 0, 0, 1, 0, 0, 0, 9]) + bytes([128, 0, 0, 0, 0, 7, 0, 1])),
    }
    for name, p in packets.items():
        add('ipv6', name, p)
        add('dgram', 'ipv6-' + name, eth(GW_MAC, GUEST_MAC, 0x86DD, p))
        if p[6] == 58: add('icmpv6', name, p[40:])
    add('ethernet', 'ipv6-ra', eth(ALL_NODES[:0] + bytes.fromhex('333300000001'), GW_MAC, 0x86DD, packets['ra']))
    add('ethernet', 'vlan-arp', core[0][:12] + bytes.fromhex('81000007') + core[0][12:])
    add('icmp', 'unreachable-quote', bytes([3, 3, 0, 0, 0, 0, 0, 0]) + core[2][14:14 + 28])

    hello, handshake = client_hello('example.com')
    add('tls', 'client-hello-sni', hello)
    add('tls', 'client-hello-two-records', b'\x16\x03\x01' + struct.pack('!H', 40) + handshake[:40]
        + b'\x16\x03\x01' + struct.pack('!H', len(handshake) - 40) + handshake[40:])
    add('tls', 'client-hello-no-sni', client_hello('example.com', sni_type=0xff01)[0])
    add('http', 'get-host', b'GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n')
    add('http', 'absolute-form', b'GET http://example.com:8080/a?b HTTP/1.1\r\nHost: example.com:8080\r\n\r\n')
    add('http', 'connect', b'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n')
    add('http', 'post-pipelined', b'POST /x HTTP/1.1\nHost: a.example\nContent-Length: 5\n\nhelloGET / HTTP/1.0\r\nHost: b.example\r\n\r\n')
    add('tcp', 'syn-options', tcp(40000, 443, 1, 0x02, options=bytes.fromhex('020405b40402080a000000010000000001030307')))
    add('tcp', 'psh-tls', tcp(40000, 443, 2, 0x18, hello))
    add('tcp', 'psh-http', tcp(40000, 80, 2, 0x18, seeds['http'][0][1]))

    frames = [core[0], dhcp[0], dns[0], eth(GW_MAC, GUEST_MAC, 0x86DD, packets['ns'])]
    add('stream', 'four-frames', b''.join(struct.pack('!I', len(f)) + f for f in frames))
    add('stream', 'frame-and-partial', struct.pack('!I', len(core[1])) + core[1] + struct.pack('!I', 60) + core[2][:20])
    for i, f in enumerate(core[:4] + dhcp[:2] + dns[:1]): add('dgram', 'capture-%d' % i, f)
    # VXLAN (RFC 7348 section 5): flags with only I, reserved zero, VNI 4242 (TransportTargets.VxlanVni).
    vxlan = lambda f, flags=0x08, vni=4242: bytes([flags, 0, 0, 0]) + struct.pack('!I', vni << 8) + f
    for i, f in enumerate(core[:2] + dhcp[:2]): add('vxlan', 'capture-%d' % i, vxlan(f))
    add('vxlan', 'wrong-vni', vxlan(dhcp[0], vni=4243))
    add('vxlan', 'gbp-flags', vxlan(core[0], flags=0x88))

    # virtio_net_hdr (little-endian): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
    src, dst = bytes([10, 0, 0, 2]), bytes([93, 184, 216, 34])
    seg = tcp(40000, 80, 1000, 0x18, bytes(range(256)) * 2)
    frame = eth(GW_MAC, GUEST_MAC, 0x0800, ipv4(src, dst, 6, seg))
    add('virtio', 'plain', bytes(10) + frame)
    add('virtio', 'needs-checksum', struct.pack('<BBHHHH', 1, 0, 54, 0, 34, 16) + frame)
    add('virtio', 'gso-tcpv4', struct.pack('<BBHHHH', 1, 1, 54, 200, 34, 16) + frame)
    frame6 = eth(GW_MAC, GUEST_MAC, 0x86DD, ipv6(guest_ll, gw_ll, 6, seg, (6, 16)))
    add('virtio', 'gso-tcpv6', struct.pack('<BBHHHH', 1, 4, 74, 300, 54, 16) + frame6)

    # A guest's UDP datagram in three fragments (RFC 791 §3.2: 8-byte units), fed in three orders.
    udp = struct.pack('!HHHH', 40000, 9, 8 + 100, 0) + bytes(range(100))
    def fragment(offset, data, more):
        h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(data), 0x1234, (offset >> 3) | (0x2000 if more else 0), 64, 17, 0, src, dst)
        p = h[:10] + struct.pack('!H', csum(h)) + h[12:] + data
        return struct.pack('!H', len(p)) + p
    pieces = [fragment(0, udp[:48], True), fragment(48, udp[48:96], True), fragment(96, udp[96:], False)]
    add('reassembly', 'in-order', b''.join(pieces))
    add('reassembly', 'last-first', pieces[2] + pieces[0] + pieces[1])
    add('reassembly', 'overlap-then-whole', pieces[1] + pieces[1] + b''.join(pieces))
    # The fuzzing finding (docs/fuzzing.md): the middle fragment moved to offset 112, past the end
    # the last one then sets; reassembly used to call it complete with bytes 48..96 never written.
    moved = bytearray(pieces[1]); moved[2 + 7] = 112 >> 3
    add('reassembly', 'finding-hole', pieces[0] + bytes(moved) + pieces[2])

    for target, items in sorted(seeds.items()):
        os.makedirs(os.path.join(OUT, target))
        for name, data in items:
            with open(os.path.join(OUT, target, name), 'wb') as f: f.write(data)
    print(' '.join('%s:%d' % (t, len(i)) for t, i in sorted(seeds.items())))

main()
