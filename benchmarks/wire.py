"""A loopback TCP proxy that counts what a client puts on the wire to one device.

It sits in the simulator process, in front of one simulator: the client connects to the
proxy, the proxy to the simulator. It counts payload bytes each way as it forwards them,
and reads the kernel's own segment counters (`TCP_INFO`: every segment of the
client-facing connection, data and pure ACKs, both ways) so that "bytes on the wire" is
payload plus the real number of TCP/IP headers. 127.0.0.1 only; stdlib only.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, fields
from typing import Final, Self

# Linux `struct tcp_info` (include/uapi/linux/tcp.h): tcpi_options is byte 5, then
# tcpi_bytes_acked (u64) at 120, tcpi_bytes_received (u64) at 128, tcpi_segs_out (u32)
# at 136 and tcpi_segs_in (u32) at 140 (since Linux 4.2).
_TCP_INFO_BYTES: Final = 256
_OPTIONS_OFFSET: Final = 5
_SEGS_OFFSET: Final = 136
_TCPI_OPT_TIMESTAMPS: Final = 1
# IPv4 header + TCP header without options; + 12 with the timestamp option (10, padded).
_IPV4_TCP_HEADER: Final = 20 + 20
_TIMESTAMP_OPTION: Final = 12
_CHUNK: Final = 64 * 1024


@dataclass(slots=True)
class WireCounts:
    """What crossed the client↔device link; add and subtract like numbers."""

    connections: int = 0
    payload_up: int = 0  # client → device (requests)
    payload_down: int = 0  # device → client (answers)
    segments: int = 0  # TCP segments both ways, data and pure ACKs, SYN/FIN included
    header_bytes: int = 0  # IPv4 + TCP headers of those segments

    @property
    def payload(self) -> int:
        return self.payload_up + self.payload_down

    @property
    def on_wire(self) -> int:
        """Payload plus every segment's IPv4/TCP headers (no Ethernet framing)."""
        return self.payload + self.header_bytes

    def __add__(self, other: WireCounts) -> WireCounts:
        return WireCounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(WireCounts))
        )

    def __sub__(self, other: WireCounts) -> WireCounts:
        return WireCounts(
            *(getattr(self, f.name) - getattr(other, f.name) for f in fields(WireCounts))
        )


def _segments(sock: socket.socket) -> tuple[int, int]:
    """(segments both ways, header bytes) of a live connection, from the kernel."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_BYTES)
    except OSError:
        return 0, 0
    if len(info) < _SEGS_OFFSET + 8:
        raise RuntimeError("this kernel's TCP_INFO has no segment counters")
    segs_out, segs_in = struct.unpack_from("=II", info, _SEGS_OFFSET)
    header = _IPV4_TCP_HEADER
    if info[_OPTIONS_OFFSET] & _TCPI_OPT_TIMESTAMPS:
        header += _TIMESTAMP_OPTION
    segments = segs_out + segs_in
    return segments, segments * header


class _Link:
    """One proxied connection: its counters, and the kernel's for the client side."""

    def __init__(self, client_socket: socket.socket | None) -> None:
        self.client_socket = client_socket
        self.up = 0
        self.down = 0
        self.final: tuple[int, int] | None = None

    def segments(self) -> tuple[int, int]:
        if self.final is not None:
            return self.final
        if self.client_socket is None:
            return 0, 0
        return _segments(self.client_socket)

    def close(self) -> None:
        # Read the counters before the socket goes (the FIN/ACKs after this are not seen).
        self.final = self.segments()
        self.client_socket = None


class CountingProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`, counting (see module doc)."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._baseline = WireCounts()

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def totals(self) -> WireCounts:
        counts = WireCounts(connections=len(self._links))
        for link in self._links:
            segments, header_bytes = link.segments()
            counts.payload_up += link.up
            counts.payload_down += link.down
            counts.segments += segments
            counts.header_bytes += header_bytes
        return counts

    def counts(self) -> WireCounts:
        """Since the last `reset`."""
        return self.totals() - self._baseline

    def reset(self) -> None:
        self._baseline = self.totals()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        link = _Link(writer.get_extra_info("socket"))
        self._links.append(link)
        try:
            target_reader, target_writer = await asyncio.open_connection(
                self.host, self.target_port
            )
        except OSError:
            link.close()
            writer.close()
            self._tasks.discard(task)
            return
        try:
            await asyncio.gather(
                self._pump(reader, target_writer, link, up=True),
                self._pump(target_reader, writer, link, up=False),
            )
        finally:
            link.close()
            for w in (writer, target_writer):
                w.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link, *, up: bool
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if up:
                    link.up += len(data)
                else:
                    link.down += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError, OSError:
            pass
        finally:
            # Half-close towards the other side, as the peer did, so both ends see EOF.
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()
