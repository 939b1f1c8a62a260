"""The outside namespace's small servers, one asyncio process (see OutsideWorld.cs).

    python3 servers.py ECHO_PORT REPLY_AFTER_EOF_PORT

ECHO_PORT, TCP: echoes what it reads until the client closes (many connections at once: backlog 4096).
ECHO_PORT, UDP: sends every datagram back to its sender.
REPLY_AFTER_EOF_PORT, TCP: reads until the client shuts its write side, then sends everything back and closes
(a half-close test: the reply only exists once the FIN arrived, and it must still reach the client).
"""
import asyncio
import resource
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


class UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


async def main(echo_port, reply_port):
    loop = asyncio.get_running_loop()
    await asyncio.start_server(echo, "0.0.0.0", echo_port, backlog=4096)
    await asyncio.start_server(reply_after_eof, "0.0.0.0", reply_port, backlog=128)
    await loop.create_datagram_endpoint(UdpEcho, local_addr=("0.0.0.0", echo_port))
    await asyncio.Event().wait()


if __name__ == "__main__":
    raise_nofile(16384)
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
