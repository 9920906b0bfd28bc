"""SIP over UDP and TCP on one port: each whole message from an allowed peer goes to a handler,
with the way to answer it on the transport it came by."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import cast

from monitor.ingest.listeners import Network, allowed
from monitor.ingest.sip import SipError, frame

Reply = Callable[[bytes], None]
#: One SIP message: (data, peer, reply, "UDP" or "TCP").
Handler = Callable[[bytes, tuple[str, int], Reply, str], None]


class SipTransport:
    """The UDP socket and TCP server of one SIP port."""

    def __init__(self, handle: Handler, networks: Sequence[Network], note: Callable[[str], None]) -> None:
        self.handle = handle
        self.networks = networks
        self.note = note  # why a TCP peer was cut off
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._udp is not None
        name = self._udp.get_extra_info("sockname")
        return str(name[0]), int(name[1])

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        # UDP and TCP on one port: with port 0 the OS picks UDP's, which TCP may have taken
        # for another program, so then try another.
        for attempt in range(1 if port else 20):
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _SipDatagrams(self.handle), local_addr=(host, port)
            )
            try:
                self._tcp = await asyncio.start_server(self._tcp_client, host, self.address[1])
                return
            except OSError:
                self._udp.close()
                self._udp = None
                if port or attempt == 19:
                    raise

    async def close(self) -> None:
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 5)
        if self._udp is not None:
            self._udp.close()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        buffer = bytearray()
        try:
            if not allowed(str(peer[0]), self.networks):
                self.note(f"{peer[0]}: not in --allow (TCP connection closed)")
                return
            while data := await reader.read(65536):
                buffer += data
                while (message := frame(buffer)) is not None:
                    self.handle(message, (str(peer[0]), int(peer[1])), writer.write, "TCP")
        except SipError as err:
            self.note(f"{peer[0]}: {err} (TCP connection closed)")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


class _SipDatagrams(asyncio.DatagramProtocol):
    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = (str(addr[0]), int(addr[1]))
        transport = self.transport
        assert transport is not None
        self.handle(data, peer, lambda out: transport.sendto(out, addr), "UDP")
