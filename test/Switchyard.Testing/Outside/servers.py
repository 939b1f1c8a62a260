"""The outside namespace's small servers, one asyncio process (see OutsideWorld.cs).

    python3 servers.py ECHO_PORT REPLY_AFTER_EOF_PORT

ECHO_PORT, TCP: echoes what it reads until the client closes (many connections at once: backlog 4096).
ECHO_PORT, UDP: sends every datagram back to its sender, from the address it was sent to (IP_PKTINFO), as a
multi-homed UDP server must: once a route change brings datagrams for eth0's address in through eth1, a reply
from eth1's own address would never match the client's connected socket.
REPLY_AFTER_EOF_PORT, TCP: reads until the client shuts its write side, then sends everything back and closes
(a half-close test: the reply only exists once the FIN arrived, and it must still reach the client).
"""
import asyncio
import resource
import socket
import struct
import sys

MAX_REPLY = 64 << 20


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def echo(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def reply_after_eof(reader, writer):
    received = bytearray()
    try:
        while data := await reader.read(65536):
            received += data
            if len(received) > MAX_REPLY:
                return
        writer.write(bytes(received))
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def udp_echo(loop, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind(("0.0.0.0", port))
    s.setblocking(False)

    def readable():
        while True:
            try:
                data, ancillary, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(12))
            except BlockingIOError:
                return
            reply = []
            for level, kind, info in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(info) >= 12:
                    # struct in_pktinfo {ifindex; spec_dst; addr}: send from the datagram's destination, any interface.
                    reply = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=i4s4s", 0, info[8:12], bytes(4)))]
            try:
                s.sendmsg([data], reply, 0, addr)
            except OSError:
                pass

    loop.add_reader(s.fileno(), readable)
    return s


def udp_echo6(loop, port):
    """The IPv6 UDP echo (one path only: no IPV6_PKTINFO needed)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::", port))
    s.setblocking(False)

    def readable():
        while True:
            try:
                data, addr = s.recvfrom(65535)
            except BlockingIOError:
                return
            try:
                s.sendto(data, addr)
            except OSError:
                pass

    loop.add_reader(s.fileno(), readable)
    return s


async def main(echo_port, reply_port):
    loop = asyncio.get_running_loop()
    await asyncio.start_server(echo, "0.0.0.0", echo_port, backlog=4096)
    await asyncio.start_server(echo, "::", echo_port, backlog=4096)
    await asyncio.start_server(reply_after_eof, "0.0.0.0", reply_port, backlog=128)
    udp = udp_echo(loop, echo_port)  # open for the life of the process
    udp6 = udp_echo6(loop, echo_port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    raise_nofile(16384)
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
