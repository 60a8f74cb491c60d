"""A TCP site that serves at most N connections at once; the others wait.

Jetty on FEMS (`NetworkConnectionLimit`) stops serving beyond its limit: extra clients
connect at TCP level but get no answer until a slot frees up. This reproduces that by
holding a new connection's reading paused until a slot is free.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from aiohttp import web


class ConnectionGate:
    """Counts served connections across any number of listening sockets."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.active = 0
        self._waiting: deque[_GatedProtocol] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def arrive(self, conn: _GatedProtocol) -> None:
        if self.active < self.limit:
            self.active += 1
            conn.admit()
        else:
            conn.hold()
            self._waiting.append(conn)

    def leave(self, conn: _GatedProtocol) -> None:
        if not conn.admitted:
            self._waiting.remove(conn)
            return
        self.active -= 1
        while self._waiting and self.active < self.limit:
            self.active += 1
            self._waiting.popleft().admit()

    def close_waiting(self) -> None:
        """Drop connections still queued (on shutdown)."""
        for conn in list(self._waiting):
            conn.abort()


class _GatedProtocol(asyncio.Protocol):
    """Hands the connection to the real HTTP protocol only once the gate admits it."""

    def __init__(self, inner: asyncio.Protocol, gate: ConnectionGate) -> None:
        self._inner = inner
        self._gate = gate
        self._transport: asyncio.Transport | None = None
        self.admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._gate.arrive(self)

    def hold(self) -> None:
        assert self._transport is not None
        self._transport.pause_reading()

    def admit(self) -> None:
        assert self._transport is not None
        held = not self._transport.is_reading()
        self.admitted = True
        self._inner.connection_made(self._transport)
        if held:
            self._transport.resume_reading()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.admitted:
            self._inner.connection_lost(exc)
        self._gate.leave(self)

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self.admitted else None

    def pause_writing(self) -> None:
        if self.admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self._inner.resume_writing()


class GatedTCPSite(web.BaseSite):
    """Like `web.TCPSite`, but every connection passes through `gate` first."""

    __slots__ = ("_bound_port", "_gate", "_host", "_port")

    def __init__(self, runner: web.BaseRunner, gate: ConnectionGate, host: str, port: int) -> None:
        super().__init__(runner)
        self._gate = gate
        self._host = host
        self._port = port
        self._bound_port = port

    @property
    def port(self) -> int:
        """The bound port once started (useful when asked for port 0)."""
        return self._bound_port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        factory: Callable[[], asyncio.Protocol] = server
        gate = self._gate
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _GatedProtocol(factory(), gate), self._host, self._port
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]
