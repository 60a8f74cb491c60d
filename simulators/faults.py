"""Fault injection and write recording shared by every simulator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .jsontypes import JsonScalar


@dataclass(slots=True)
class FaultInjector:
    """Faults applied to every request; change the fields while the server runs."""

    latency_s: float = 0.0
    error_status: int | None = None
    malformed_body: bool = False
    drop_connection: bool = False
    # Limit the faults to these HTTP methods (e.g. {"POST"}); None = every request.
    methods: frozenset[str] | None = None

    def reset(self) -> None:
        self.latency_s = 0.0
        self.error_status = None
        self.malformed_body = False
        self.drop_connection = False
        self.methods = None


class ConnectionDropped(web.HTTPException):
    """Signals that the connection was closed on purpose and nothing may be sent."""

    status_code = 499


def fault_middleware(faults: FaultInjector) -> Middleware:
    """Build an aiohttp middleware that applies `faults` to each request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if faults.methods is not None and request.method not in faults.methods:
            return await handler(request)
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        if faults.drop_connection:
            # Close the socket without a status line: the client sees a disconnect.
            transport = request.transport
            if transport is not None:
                transport.close()
            raise ConnectionDropped
        if faults.error_status is not None:
            return web.Response(
                status=faults.error_status,
                text=f"simulated fault {faults.error_status}\n",
                content_type="text/plain",
            )
        response = await handler(request)
        if faults.malformed_body and isinstance(response, web.Response):
            response.body = _mangle(response.body)
        return response

    return middleware


def _mangle(body: object) -> bytes:
    """Cut a body in half and add junk: invalid JSON whatever it was before."""
    raw = body if isinstance(body, bytes) else b""
    return raw[: len(raw) // 2] + b'\x00{"trunc'


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """One write the device accepted (whether or not it could later be applied)."""

    timestamp: float
    channel: str
    value: JsonScalar
    role: str
    applied: bool = True


@dataclass(frozen=True, slots=True)
class RejectedWrite:
    """One write the device refused, with the reason it gave."""

    timestamp: float
    channel: str
    value: JsonScalar
    role: str | None
    reason: str


@dataclass(slots=True)
class WriteLog:
    """Every write a simulator received: accepted in `records`, refused in `rejected`."""

    records: list[WriteRecord] = field(default_factory=list)
    rejected: list[RejectedWrite] = field(default_factory=list)

    def record(self, write: WriteRecord) -> None:
        self.records.append(write)

    def reject(self, write: RejectedWrite) -> None:
        self.rejected.append(write)

    def for_channel(self, channel: str) -> list[WriteRecord]:
        return [write for write in self.records if write.channel == channel]

    @property
    def last(self) -> WriteRecord | None:
        return self.records[-1] if self.records else None

    def clear(self) -> None:
        self.records.clear()
        self.rejected.clear()

    def __len__(self) -> int:
        return len(self.records)
