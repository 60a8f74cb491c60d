"""Fault injection and write recording shared by every simulator.

`FaultInjector` holds the faults of one HTTP simulator; `fault_middleware` applies them
to each request, in this order: latency, hanging, a dropped connection, an error status,
a canned answer instead of the device's (the device does nothing), a huge body, then
the device's own answer changed on its way out (JSON patched, content type replaced,
body mangled, body cut off by a close or a reset).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .jsontypes import JsonScalar, JsonValue

# "close": the server ends the connection halfway through the body (a truncated body);
# "reset": it aborts the connection there (TCP RST).
type BodyCut = Literal["close", "reset"]
_CHUNK: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class CannedAnswer:
    """An answer sent instead of the device's: an HTML error page, junk, an empty body."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


@dataclass(slots=True)
class FaultInjector:
    """Faults applied to every request; change the fields while the server runs."""

    latency_s: float = 0.0
    error_status: int | None = None
    malformed_body: bool = False
    drop_connection: bool = False
    # Limit the faults to these HTTP methods (e.g. {"POST"}); None = every request.
    methods: frozenset[str] | None = None
    # Never answer, not even with a close, until `reset` (a device that hangs).
    hang: bool = False
    # Answer this instead of running the request: nothing reaches the device.
    answer: CannedAnswer | None = None
    # Answer 200 with a body of this many bytes (streamed; a client must stop reading).
    huge_body_bytes: int = 0
    # Rewrite the device's JSON answer (NaN, Infinity and huge integers come out as such).
    patch_json: Callable[[JsonValue], JsonValue] | None = None
    # Replace the Content-Type of the device's answer; the body stays as it was.
    content_type: str | None = None
    # Send only the first half of the device's answer, then close or reset.
    cut_body: BodyCut | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def reset(self) -> None:
        self.latency_s = 0.0
        self.error_status = None
        self.malformed_body = False
        self.drop_connection = False
        self.methods = None
        self.hang = False
        self.answer = None
        self.huge_body_bytes = 0
        self.patch_json = None
        self.content_type = None
        self.cut_body = None
        # Requests that hang end now (without an answer); later ones do not hang.
        self._released.set()
        self._released = asyncio.Event()

    async def wait_released(self) -> None:
        """Return once `reset` ends the hang."""
        await self._released.wait()


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
        instead = await _instead_of_the_device(request, faults)
        if instead is not None:
            return instead
        response = await handler(request)
        if isinstance(response, web.Response):
            return await _on_the_way_out(request, response, faults)
        return response

    return middleware


async def _instead_of_the_device(
    request: web.Request, faults: FaultInjector
) -> web.StreamResponse | None:
    """The faults that answer (or not) without the device seeing the request."""
    if faults.hang:
        await faults.wait_released()
        _close(request, abort=True)
        raise ConnectionDropped
    if faults.drop_connection:
        # Close the socket without a status line: the client sees a disconnect.
        _close(request, abort=False)
        raise ConnectionDropped
    if faults.error_status is not None:
        return web.Response(
            status=faults.error_status,
            text=f"simulated fault {faults.error_status}\n",
            content_type="text/plain",
        )
    if (canned := faults.answer) is not None:
        return web.Response(
            status=canned.status, body=canned.body, headers={"Content-Type": canned.content_type}
        )
    if faults.huge_body_bytes > 0:
        return await _huge_body(request, faults.huge_body_bytes)
    return None


async def _on_the_way_out(
    request: web.Request, response: web.Response, faults: FaultInjector
) -> web.StreamResponse:
    """The device's own answer, changed as the faults say."""
    if faults.patch_json is not None:
        response.body = _patched(response.body, faults.patch_json)
    if faults.content_type is not None:
        response.headers["Content-Type"] = faults.content_type
    if faults.malformed_body:
        response.body = _mangle(response.body)
    if faults.cut_body is not None:
        await _cut(request, response, faults.cut_body)
    return response


def _close(request: web.Request, *, abort: bool) -> None:
    transport = request.transport
    if transport is not None:
        if abort:
            transport.abort()
        else:
            transport.close()


def _mangle(body: object) -> bytes:
    """Cut a body in half and add junk: invalid JSON whatever it was before."""
    raw = body if isinstance(body, bytes) else b""
    return raw[: len(raw) // 2] + b'\x00{"trunc'


def _patched(body: object, patch: Callable[[JsonValue], JsonValue]) -> bytes:
    raw = body if isinstance(body, bytes) else b""
    try:
        decoded: JsonValue = json.loads(raw)
    except ValueError:
        return raw  # not JSON: nothing to patch
    return json.dumps(patch(decoded), allow_nan=True).encode()


async def _huge_body(request: web.Request, size: int) -> web.StreamResponse:
    """A 200 JSON answer that never ends in time: a list of `size` bytes of blanks."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b"[" + b" " * (_CHUNK - 1)
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < size:
            await response.write(chunk)
            sent += len(chunk)
            chunk = b" " * _CHUNK
        await response.write(b"]")
    return response


async def _cut(request: web.Request, response: web.Response, cut: BodyCut) -> None:
    """Announce the whole body, send half of it, then close or reset the connection."""
    body = response.body if isinstance(response.body, bytes) else b""
    partial = web.StreamResponse(status=response.status, headers=response.headers)
    partial.content_length = len(body)
    await partial.prepare(request)
    await partial.write(body[: len(body) // 2])
    _close(request, abort=cut == "reset")
    raise ConnectionDropped


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
