"""pymodbus 3.13 TCP server glue with j2mod's connection behaviour (notes §2.1, §2.8).

pymodbus decodes and encodes the frames; everything the OpenEMS process image decides
(values, exceptions, ignored writes) is asked of a `ModbusBackend`. On top of pymodbus
this adds what the FEMS server does with connections: at most `max_connections` served at
once (more are accepted by TCP but wait, unread, for a free worker), idle connections
closed after `idle_timeout_s` of the backend's clock, exception 0x01 for function codes
it does not serve, and request/byte counting for benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, cast

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import WriteSingleRegisterResponse
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.transaction import TransactionManager
from pymodbus.transport import ModbusProtocol

# What the FEMS answers; anything else is "illegal function" (0x01).
SERVED_FUNCTION_CODES: Final = frozenset({1, 2, 3, 4, 6, 16})
_MBAP_BYTES: Final = 7


@dataclass(slots=True)
class ModbusStats:
    """Requests (by function code) and bytes on the wire, counted at the server."""

    requests: int = 0
    by_function: Counter[int] = field(default_factory=Counter)
    bytes_received: int = 0
    bytes_sent: int = 0
    # The latest reads (FC 3/4) as (address, count), for tests that check what was asked.
    reads: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=1000))

    def reset(self) -> None:
        self.requests = 0
        self.by_function.clear()
        self.bytes_received = 0
        self.bytes_sent = 0
        self.reads.clear()


@dataclass(slots=True)
class ModbusFaults:
    """Faults applied to requests; change the fields while the server runs."""

    latency_s: float = 0.0
    # Close the connection instead of answering the next N requests.
    drop_requests: int = 0
    # Read requests but never answer (a hung device).
    silent: bool = False
    # Answer every read with this Modbus exception code (e.g. 4, device failure).
    read_exception: int | None = None
    # Answer reads with one register fewer than asked (a frame of the wrong length).
    short_reads: bool = False

    def reset(self) -> None:
        self.latency_s = 0.0
        self.drop_requests = 0
        self.silent = False
        self.read_exception = None
        self.short_reads = False


class ModbusBackend(Protocol):
    """The simulated device behind the server."""

    stats: ModbusStats
    faults: ModbusFaults

    def clock(self) -> float: ...

    def read(self, unit: int, function_code: int, address: int, count: int) -> list[int] | ExcCodes:
        """Registers for FC 3/4; all-false bits (as 0/1) for FC 1/2; or an exception."""
        ...

    def write(
        self, unit: int, function_code: int, address: int, words: list[int]
    ) -> ExcCodes | None:
        """Apply FC 6/16; `None` is success (even when silently ignored)."""
        ...


class _Context(ModbusServerContext):
    """pymodbus's datastore interface, answered by the backend.

    The base initialiser only sets up pymodbus's own (deprecated) device stores and
    logs a warning; this context has none, so it is not called.
    """

    def __init__(self, backend: ModbusBackend) -> None:
        self.simdevices = []
        self._backend = backend

    async def async_getValues(  # noqa: N802 (pymodbus's name)
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        result = self._backend.read(device_id, func_code, address, count)
        if isinstance(result, ExcCodes) or func_code in (3, 4):
            return result
        return [bool(bit) for bit in result]

    async def async_setValues(  # noqa: N802
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        return self._backend.write(device_id, func_code, address, [int(v) for v in values])

    def device_ids(self) -> list[int]:
        return [1]


class _Gate:
    """Served connections against the limit; the rest wait unread, in arrival order."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.active: set[_Connection] = set()
        self.waiting: deque[_Connection] = deque()
        self.accepted = 0
        self.peak = 0

    def arrive(self, conn: _Connection) -> None:
        self.accepted += 1
        if len(self.active) < self.limit:
            self._admit(conn)
        else:
            conn.hold()
            self.waiting.append(conn)

    def leave(self, conn: _Connection) -> None:
        if conn in self.waiting:
            self.waiting.remove(conn)
            return
        self.active.discard(conn)
        while self.waiting and len(self.active) < self.limit:
            self._admit(self.waiting.popleft())

    def _admit(self, conn: _Connection) -> None:
        self.active.add(conn)
        self.peak = max(self.peak, len(self.active))
        conn.admit()


class _Connection(ServerRequestHandler):
    """One client connection: gated, idle-timed, counted."""

    def __init__(self, server: OpenEmsModbusServer) -> None:
        super().__init__(server, None, None, None)  # type: ignore[no-untyped-call]
        self._owner = server
        self._backend = server.backend
        self.last_activity = self._backend.clock()
        self._gone = False
        self._held = False
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------

    def callback_connected(self) -> None:
        super().callback_connected()
        self._owner.gate.arrive(self)

    def callback_disconnected(self, exc: Exception | None) -> None:
        super().callback_disconnected(exc)
        self._leave()

    def hold(self) -> None:
        self._held = True
        self._transport().pause_reading()

    def admit(self) -> None:
        self.last_activity = self._backend.clock()
        if self._held:
            self._held = False
            self._transport().resume_reading()

    def shut(self) -> None:
        """Close from the server side (idle timeout, injected drop, shutdown)."""
        self._leave()
        self.close()

    def _leave(self) -> None:
        # pymodbus skips the disconnect callback for closes it started itself.
        if not self._gone:
            self._gone = True
            self._owner.gate.leave(self)

    def _transport(self) -> asyncio.Transport:
        return cast(asyncio.Transport, self.transport)

    # --- traffic --------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._backend.stats.bytes_received += len(data)
        self.last_activity = self._backend.clock()
        super().data_received(data)

    def send(self, data: bytes, addr: tuple[str, int] | None = None) -> None:
        self._backend.stats.bytes_sent += len(data)
        self.last_activity = self._backend.clock()
        super().send(data, addr)

    def callback_data(self, data: bytes, addr: tuple[str, int] | None = None) -> int:
        used = 0
        while used < len(data):
            frame = data[used:]
            try:
                consumed = TransactionManager.callback_data(self, frame, addr)
            except ModbusIOException:
                consumed = self._refuse_undecodable(frame)
            if not consumed:
                break  # an incomplete frame: wait for more bytes
            used += consumed
            if self.last_pdu is not None:
                task = self.loop.create_task(self._answer(self.last_pdu, self.last_addr))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return used

    def _refuse_undecodable(self, frame: bytes) -> int:
        """A function code pymodbus cannot decode: 0x01 to the frame's own transaction."""
        if len(frame) < _MBAP_BYTES + 1:
            return 0
        length = 6 + int.from_bytes(frame[4:6], "big")
        self._backend.stats.requests += 1
        self._backend.stats.by_function[frame[7]] += 1
        answer = frame[0:4] + b"\x00\x03" + frame[6:7] + bytes([frame[7] | 0x80, 0x01])
        self.send(answer)
        return min(length, len(frame))

    async def _answer(self, pdu: ModbusPDU, addr: tuple[str, int] | None) -> None:
        backend = self._backend
        backend.stats.requests += 1
        backend.stats.by_function[pdu.function_code] += 1
        if pdu.function_code in (3, 4):
            backend.stats.reads.append((pdu.address, pdu.count))
        faults = backend.faults
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        if faults.drop_requests > 0:
            faults.drop_requests -= 1
            self.shut()
            return
        if faults.silent or self._gone:
            return
        response = await self._respond(pdu)
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        self.server_send(response, addr)  # type: ignore[no-untyped-call]

    async def _respond(self, pdu: ModbusPDU) -> ModbusPDU:
        code = pdu.function_code
        if code not in SERVED_FUNCTION_CODES:
            return ExceptionResponse(code, ExcCodes.ILLEGAL_FUNCTION)
        if code == 6:
            # The echo repeats the request, whatever the record now holds (RO: unchanged).
            error = self._backend.write(pdu.dev_id, 6, pdu.address, list(pdu.registers))
            if error is not None:
                return ExceptionResponse(6, error)
            return WriteSingleRegisterResponse(address=pdu.address, registers=list(pdu.registers))
        return await pdu.datastore_update(self._owner.datastore, pdu.dev_id)


class OpenEmsModbusServer(ModbusTcpServer):
    """A pymodbus TCP server in front of a `ModbusBackend`."""

    def __init__(
        self,
        backend: ModbusBackend,
        *,
        host: str,
        port: int,
        max_connections: int,
        idle_timeout_s: Callable[[], float],
    ) -> None:
        self.backend = backend
        self.datastore = _Context(backend)
        self.gate = _Gate(max_connections)
        self._idle_timeout_s = idle_timeout_s
        super().__init__(self.datastore, address=(host, port))

    def callback_new_connection(self) -> ModbusProtocol:
        return _Connection(self)

    @property
    def bound_port(self) -> int:
        server = cast(asyncio.Server, self.transport)
        return int(server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        await self.serve_forever(background=True)

    async def stop(self) -> None:
        server = cast(asyncio.Server | None, self.transport)
        for conn in [*self.gate.active, *self.gate.waiting]:
            conn.shut()
        await self.shutdown()  # type: ignore[no-untyped-call]
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2)

    def close_idle(self) -> int:
        """Close served connections without traffic for the idle timeout; how many."""
        now = self.backend.clock()
        idle = [
            conn for conn in self.gate.active if now - conn.last_activity >= self._idle_timeout_s()
        ]
        for conn in idle:
            conn.shut()
        return len(idle)
