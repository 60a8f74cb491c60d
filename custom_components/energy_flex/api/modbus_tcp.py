"""A small asyncio Modbus/TCP client: read holding registers (FC 3), write registers (FC 16).

Exactly what talking to one FEMS needs (`fems-openems-api-notes.md` §2): one unit id, one
request in flight at a time, on one `asyncio.Protocol` (no stream reader, no framer
objects, no logging). Answers are checked strictly against the request they answer:

- MBAP header: protocol id 0 and a length the Modbus spec allows (unit id plus a PDU of
  2..253 bytes), checked as soon as the 7 header bytes are in, so a broken header never
  waits for bytes that will not come;
- an answer whose transaction id is not the pending request's answers an earlier request
  (one that timed out or was cancelled) and is dropped, never taken for this one;
- then the unit id, the function code (or that code with the exception bit, carrying an
  exception code: `ModbusExceptionError`), the byte count (2 × the registers asked for)
  and, for writes, the echo of address and quantity.

Anything else is a `ModbusProtocolError`, and the connection is closed with it: once the
framing is off, no later byte on that stream can be trusted.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Sequence
from functools import cache
from typing import Final, cast

MAX_READ_COUNT: Final = 125  # registers per FC 3 request (Modbus spec)
MAX_WRITE_COUNT: Final = 123  # registers per FC 16 request (Modbus spec)
READ_HOLDING_REGISTERS: Final = 3
WRITE_MULTIPLE_REGISTERS: Final = 16
_EXCEPTION_BIT: Final = 0x80
# Transaction id, protocol id, length (unit id + PDU), unit id.
_MBAP: Final = struct.Struct(">HHHB")
_MBAP_SIZE: Final = 7
# The length field counts the unit id and the PDU; a PDU is 2 (exception) to 253 bytes.
_MIN_LENGTH: Final = 1 + 2
_MAX_LENGTH: Final = 1 + 253
_READ_REQUEST: Final = struct.Struct(">BHH")
_WRITE_REQUEST: Final = struct.Struct(">BHHB")
_ADDRESSES: Final = 0x10000


class ModbusTcpError(Exception):
    """Base class of this client's errors."""


class ModbusConnectionError(ModbusTcpError):
    """No connection: it could not be opened, or it is closed."""


class ModbusConnectionLostError(ModbusConnectionError):
    """The peer closed the connection (or the network broke it) while a request waited."""


class ModbusProtocolError(ModbusTcpError):
    """The answer broke Modbus/TCP framing; the connection has been closed."""


class ModbusExceptionError(ModbusTcpError):
    """The server answered the request with a Modbus exception code."""

    def __init__(self, function: int, code: int) -> None:
        """Remember the request's function code and the exception code."""
        super().__init__(f"exception {code} to function {function}")
        self.function = function
        self.code = code


class ModbusTcpClient:
    """One Modbus/TCP connection to one unit id; one request at a time.

    Callers serialise their requests (a second one while the first waits is a bug and
    raises `RuntimeError`). A request that times out or is cancelled leaves the connection
    open; its answer, should it still come, is dropped.
    """

    def __init__(
        self,
        unit_id: int = 1,
        *,
        timeout: float = 5.0,
        on_connection_lost: Callable[[], None] = lambda: None,
    ) -> None:
        """Nothing is opened yet; `timeout` (seconds) bounds connecting and each request.

        `on_connection_lost` is called when the connection ends other than by `close()`:
        the peer closed it, the network broke it, or an answer broke the framing.
        """
        if not 0 <= unit_id <= 0xFF:
            raise ValueError(f"unit id {unit_id} is not 0..255")
        self.unit_id = unit_id
        self.timeout = timeout
        self._on_connection_lost = on_connection_lost
        self._stream: _Stream | None = None
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._tid = 0
        # The request waiting for its answer: its future, function code, and what the
        # answer must hold (registers for a read, the address/quantity echo for a write).
        self._future: asyncio.Future[list[int]] | None = None
        self._function = 0
        self._count = 0
        self._echo = b""

    @property
    def connected(self) -> bool:
        """Whether the connection is open."""
        return self._transport is not None

    async def connect(self, host: str, port: int) -> None:
        """Open the connection (closing any open one first) within the timeout."""
        self.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                await loop.create_connection(lambda: _Stream(self), host, port)
        except (OSError, TimeoutError) as err:
            raise ModbusConnectionError(f"cannot connect: {type(err).__name__}") from err

    def close(self) -> None:
        """Close the connection; a waiting request fails with `ModbusConnectionError`."""
        self._detach(ModbusConnectionError("the connection was closed"))

    async def read_holding_registers(self, address: int, count: int) -> list[int]:
        """FC 3: `count` (1..125) registers from `address` (0-based)."""
        if not 1 <= count <= MAX_READ_COUNT:
            raise ValueError(f"count {count} is not 1..{MAX_READ_COUNT}")
        _check_addresses(address, count)
        request = _READ_REQUEST.pack(READ_HOLDING_REGISTERS, address, count)
        return await self._request(request, READ_HOLDING_REGISTERS, count, b"")

    async def write_registers(self, address: int, words: Sequence[int]) -> None:
        """FC 16: `words` (1..123 values of 0..65535) from `address` (0-based)."""
        count = len(words)
        if not 1 <= count <= MAX_WRITE_COUNT:
            raise ValueError(f"{count} words are not 1..{MAX_WRITE_COUNT}")
        _check_addresses(address, count)
        if not all(0 <= word <= 0xFFFF for word in words):
            raise ValueError("a register value is not 0..65535")
        header = _WRITE_REQUEST.pack(WRITE_MULTIPLE_REGISTERS, address, count, 2 * count)
        request = header + _words(count).pack(*words)
        await self._request(request, WRITE_MULTIPLE_REGISTERS, 0, header[1:5])

    # --- the request in flight -----------------------------------------------------------

    async def _request(self, pdu: bytes, function: int, count: int, echo: bytes) -> list[int]:
        transport = self._transport
        if transport is None:
            raise ModbusConnectionError("not connected")
        if self._future is not None:
            raise RuntimeError("a Modbus request is already in flight")
        tid = self._tid = (self._tid + 1) & 0xFFFF
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._future = future
        self._function = function
        self._count = count
        self._echo = echo
        transport.write(_MBAP.pack(tid, 0, len(pdu) + 1, self.unit_id) + pdu)
        timer = loop.call_later(self.timeout, self._expire, future)
        try:
            return await future
        finally:
            timer.cancel()
            if self._future is future:  # cancelled: its answer, if any, is now stale
                self._future = None

    def _expire(self, future: asyncio.Future[list[int]]) -> None:
        # Only this request can be in flight: its timer is cancelled before the next starts.
        self._settle(future, TimeoutError(f"no answer within {self.timeout} s"))

    def _settle(
        self, future: asyncio.Future[list[int]], outcome: list[int] | BaseException
    ) -> None:
        """End the request in flight with its registers or an error."""
        self._future = None
        if future.done():
            return  # cancelled, and its task has not woken up yet
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    # --- bytes in ------------------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        buffer = self._buffer
        if buffer:
            buffer += data
            data = bytes(buffer)
            buffer.clear()
        start = 0
        size = len(data)
        while size - start >= _MBAP_SIZE:
            tid, protocol, length, unit = _MBAP.unpack_from(data, start)
            if protocol != 0:
                self._broken(f"protocol id {protocol} is not Modbus")
                return
            if not _MIN_LENGTH <= length <= _MAX_LENGTH:
                self._broken(f"length {length} is not {_MIN_LENGTH}..{_MAX_LENGTH}")
                return
            end = start + 6 + length
            if end > size:
                break  # the rest of this frame is still on its way
            self._answer(tid, unit, data, start + _MBAP_SIZE, end)
            if self._transport is None:
                return  # the answer broke the framing
            start = end
        if start < size:
            buffer += data[start:]

    def _answer(self, tid: int, unit: int, data: bytes, start: int, end: int) -> None:
        """One whole frame: the PDU is data[start:end]."""
        future = self._future
        if future is None or tid != self._tid:
            return  # the answer to a request that timed out or was cancelled
        if unit != self.unit_id:
            self._broken(f"answer from unit {unit}, asked unit {self.unit_id}")
            return
        function = data[start]
        size = end - start
        if function == self._function:
            if function == READ_HOLDING_REGISTERS:
                count = self._count
                if data[start + 1] != 2 * count or size != 2 + 2 * count:
                    self._broken(
                        f"answer has the wrong number of registers: byte count "
                        f"{data[start + 1]} in a {size}-byte PDU, asked {count}"
                    )
                    return
                result = list(_words(count).unpack_from(data, start + 2))
            else:
                if size != 5 or data[start + 1 : end] != self._echo:
                    self._broken("the write answer does not echo its address and quantity")
                    return
                result = []
            self._settle(future, result)
        elif function == self._function | _EXCEPTION_BIT and size == 2:
            self._settle(future, ModbusExceptionError(self._function, data[start + 1]))
        else:
            self._broken(f"answer of {size} bytes with function {function}, asked {self._function}")

    def _broken(self, reason: str) -> None:
        self._detach(ModbusProtocolError(reason))
        self._on_connection_lost()

    # --- connection ----------------------------------------------------------------------

    def _made(self, stream: _Stream, transport: asyncio.Transport) -> None:
        self._stream = stream
        self._transport = transport

    def _lost(self) -> None:
        self._detach(ModbusConnectionLostError("the peer closed the connection"))
        self._on_connection_lost()

    def _detach(self, error: ModbusTcpError) -> None:
        """Forget the connection (closing it) and fail the request that waits on it."""
        transport, future = self._transport, self._future
        self._stream = self._transport = None
        self._buffer.clear()
        if transport is not None:
            transport.close()
        if future is not None:
            self._settle(future, error)


class _Stream(asyncio.Protocol):
    """One TCP connection's callbacks, for its client while that connection is the client's."""

    def __init__(self, client: ModbusTcpClient) -> None:
        self.client = client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.client._made(self, cast(asyncio.Transport, transport))  # TCP: a Transport

    def data_received(self, data: bytes) -> None:
        # A transport delivers nothing after close(): this is always the current stream.
        self.client._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client._stream is self:  # else the client closed it: not news
            self.client._lost()


def _check_addresses(address: int, count: int) -> None:
    if not 0 <= address <= _ADDRESSES - count:
        raise ValueError(f"address {address} + {count} registers is beyond 65535")


@cache
def _words(count: int) -> struct.Struct:
    """Big-endian unsigned 16-bit words, `count` of them (≤ 125 distinct sizes)."""
    return struct.Struct(f">{count}H")


__all__ = [
    "MAX_READ_COUNT",
    "MAX_WRITE_COUNT",
    "ModbusConnectionError",
    "ModbusConnectionLostError",
    "ModbusExceptionError",
    "ModbusProtocolError",
    "ModbusTcpClient",
    "ModbusTcpError",
]
