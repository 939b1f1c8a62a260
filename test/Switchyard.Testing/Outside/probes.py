"""Client-side network probes for Switchyard's tests (see OutsideProbes.cs), run on the host or in a guest namespace
as `python3 -c SCRIPT COMMAND ARGS...`. Each prints one JSON object on one line; every wait is bounded.

    connect-many HOST PORT N SECONDS   N nonblocking connects at once to an echo server; each connected socket sends
                                       one byte and reads it back; all stay open until every one has finished (or
                                       SECONDS passed), then all close
    tcp-connect HOST PORT SECONDS      one connect: connected, refused, timeout or the errno name, and how long it took
    udp-echo HOST PORT TRIES           a token to an echo server, 1 s per try: echoed, refused or timeout
    udp-closed HOST PORT SECONDS       one datagram to a port nothing listens on; refused once the ICMP port
                                       unreachable arrives (a connected UDP socket reports it as ECONNREFUSED)
    tls-hello HOST PORT SNI SEGMENT GAP_MS SECONDS
                                       a genuine TLS ClientHello (python's ssl, server_hostname=SNI; "-": none) sent
                                       SEGMENT bytes per send() with TCP_NODELAY and GAP_MS between sends, so each
                                       piece leaves as its own TCP segment; then reads the reply: answered (a
                                       ServerHello came back), alert, reset, closed, refused, timeout or the errno name
"""
import errno
import json
import os
import resource
import selectors
import socket
import ssl
import sys
import time


def out(**fields):
    print(json.dumps(fields), flush=True)


def err_name(code):
    return errno.errorcode.get(code, str(code))


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def connect_many(host, port, n, seconds):
    raise_nofile(n + 256)
    start = time.monotonic()
    deadline = start + seconds
    errors = {}

    def fail(name):
        errors[name] = errors.get(name, 0) + 1

    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        if rc not in (0, errno.EINPROGRESS):
            fail(err_name(rc))
            s.close()
            continue
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE, "connect")
    connected = echoed = 0
    pending = len(socks)
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0.0, min(1.0, deadline - time.monotonic()))):
            s = key.fileobj
            if key.data == "connect":
                code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    fail(err_name(code))
                    sel.unregister(s)
                    pending -= 1
                    continue
                connected += 1
                s.send(b"x")
                sel.modify(s, selectors.EVENT_READ, "echo")
            else:
                try:
                    data = s.recv(16)
                except OSError as e:
                    fail(err_name(e.errno))
                    data = None
                if data == b"x":
                    echoed += 1
                elif data is not None:
                    fail("eof" if data == b"" else "garbage")
                sel.unregister(s)
                pending -= 1
    opened = time.monotonic() - start
    for s in socks:
        s.close()
    out(requested=n, connected=connected, echoed=echoed, unfinished=pending, errors=errors,
        seconds=round(opened, 3))


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def tcp_connect(host, port, seconds):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(seconds)
    start = time.monotonic()
    try:
        s.connect((host, port))
        result = "connected"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = err_name(e.errno)
    elapsed = time.monotonic() - start
    s.close()
    out(result=result, seconds=round(elapsed, 4))


def udp_echo(host, port, tries):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((host, port))
    token = os.urandom(16).hex().encode()
    result = "timeout"
    attempt = 0
    for attempt in range(1, tries + 1):
        s.send(token)
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        except ConnectionRefusedError:
            result = "refused"
            break
        except OSError as e:
            result = err_name(e.errno)   # e.g. EHOSTUNREACH: an ICMP admin-prohibited came back
            break
        result = "echoed" if data == token else "garbage"
        break
    s.close()
    out(result=result, tries=attempt)


def udp_closed(host, port, seconds):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(seconds)
    s.connect((host, port))
    start = time.monotonic()
    s.send(b"anyone there?")
    try:
        s.recv(2048)
        result = "answered"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = err_name(e.errno)   # e.g. EHOSTUNREACH: an ICMP admin-prohibited came back
    elapsed = time.monotonic() - start
    s.close()
    out(result=result, seconds=round(elapsed, 4))


def client_hello(sni):
    """The bytes a real TLS client sends first: the handshake's opening flight, taken from a memory BIO."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=None if sni == "-" else sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def tls_hello(host, port, sni, segment, gap_ms, seconds):
    hello = client_hello(sni)
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.monotonic()
    deadline = start + seconds
    s.settimeout(seconds)
    sent = 0
    reply = b""
    result = None
    try:
        s.connect((host, port))
        while sent < len(hello):
            if time.monotonic() > deadline:
                result = "timeout"
                break
            sent += s.send(hello[sent:sent + segment])
            if gap_ms:
                time.sleep(gap_ms / 1000.0)
        # The reply: a TLS record header (5 bytes) and the handshake type byte: 0x16 ... 0x02 is a ServerHello.
        while result is None and len(reply) < 6:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            data = s.recv(4096)
            if not data:
                result = "closed"
            reply += data
        if result is None:
            if reply[0] == 0x16 and reply[5] == 0x02:
                result = "answered"
            elif reply[0] == 0x15:
                result = "alert"
            else:
                result = "garbage"
    except ConnectionRefusedError:
        result = "refused"
    except (ConnectionResetError, BrokenPipeError):
        result = "reset"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = err_name(e.errno)
    elapsed = time.monotonic() - start
    s.close()
    out(result=result, sent=sent, hello=len(hello), reply=reply[:16].hex(), seconds=round(elapsed, 4))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "connect-many":
        connect_many(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif cmd == "tcp-connect":
        tcp_connect(args[0], int(args[1]), float(args[2]))
    elif cmd == "udp-echo":
        udp_echo(args[0], int(args[1]), int(args[2]))
    elif cmd == "udp-closed":
        udp_closed(args[0], int(args[1]), float(args[2]))
    elif cmd == "tls-hello":
        tls_hello(args[0], int(args[1]), args[2], int(args[3]), float(args[4]), float(args[5]))
    else:
        sys.exit(f"unknown probe {cmd}")
