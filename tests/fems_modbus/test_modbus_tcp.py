"""`api.modbus_tcp.ModbusTcpClient` over real sockets.

Against the pymodbus simulator (an independent Modbus/TCP implementation) for what a
conforming server does, and against a hand-driven raw server for what it never does:
stale, foreign and broken answers, split and merged segments, silence and hang-ups.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable

import pytest

from custom_components.energy_flex.api.modbus_tcp import (
    MAX_READ_COUNT,
    MAX_WRITE_COUNT,
    ModbusConnectionError,
    ModbusConnectionLostError,
    ModbusExceptionError,
    ModbusProtocolError,
    ModbusTcpClient,
)
from simulators.fems_modbus import FemsModbusSimulator

from .conftest import FakeClock, connections_settle, make_simulator

# Long enough never to fire on a loaded machine: a test that waits for it has failed.
PATIENT_S = 30.0


class Losses:
    """Counts `on_connection_lost` calls."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def losses() -> Losses:
    """What the client reports as lost connections."""
    return Losses()


@pytest.fixture
async def client(losses: Losses) -> AsyncIterator[ModbusTcpClient]:
    """A client for unit 1 (not yet connected)."""
    modbus = ModbusTcpClient(1, timeout=PATIENT_S, on_connection_lost=losses)
    yield modbus
    modbus.close()


def words_of(value: float) -> list[int]:
    return list(struct.unpack(">HH", struct.pack(">f", value)))


def float_of(words: list[int]) -> float:
    value: float = struct.unpack(">f", struct.pack(">HH", *words))[0]
    return value


# --- against the pymodbus simulator ---------------------------------------------------------


async def test_reads_and_writes(sim: FemsModbusSimulator, client: ModbusTcpClient) -> None:
    """FC 3 and FC 16 as a FEMS answers them (notes §2.10)."""
    assert not client.connected
    await client.connect("127.0.0.1", sim.port)
    assert client.connected
    assert await client.read_holding_registers(0, 1) == [0x6201]
    soc, *power = await client.read_holding_registers(302, 3)
    assert soc == 50
    assert float_of(power) == -1000  # the 1 kW PV surplus charges
    await client.write_registers(706, words_of(-2500))
    assert [record.value for record in sim.writes.for_channel("ess0/SetActivePowerEquals")] == [
        -2500.0
    ]
    assert sim.battery.setpoint_w == -2500
    assert sim.stats.by_function[3] == 2
    assert sim.stats.by_function[16] == 1
    # Full-size requests both ways.
    assert len(await client.read_holding_registers(200, MAX_READ_COUNT)) == MAX_READ_COUNT
    await client.write_registers(1000, [0] * MAX_WRITE_COUNT)  # unmapped: ignored, echoed
    assert sim.connections_accepted == 1


async def test_exception_answers_keep_the_connection(
    sim: FemsModbusSimulator, client: ModbusTcpClient
) -> None:
    """A Modbus exception is the request's error; the stream is fine, so it stays open."""
    await client.connect("127.0.0.1", sim.port)
    with pytest.raises(ModbusExceptionError) as err:
        await client.read_holding_registers(302, 2)  # ends inside a float32
    assert (err.value.function, err.value.code) == (3, 2)
    with pytest.raises(ModbusExceptionError) as err:
        await client.write_registers(706, [0x4000])  # half a float32
    assert (err.value.function, err.value.code) == (16, 2)
    assert client.connected
    assert await client.read_holding_registers(0, 1) == [0x6201]


async def test_other_unit_id(sim: FemsModbusSimulator) -> None:
    """The FEMS answers any unit but 1 with exception 2, from the unit asked."""
    client = ModbusTcpClient(2, timeout=PATIENT_S)
    await client.connect("127.0.0.1", sim.port)
    with pytest.raises(ModbusExceptionError) as err:
        await client.read_holding_registers(0, 1)
    assert err.value.code == 2
    client.close()


async def test_peer_closing_fails_the_request_at_once(
    sim: FemsModbusSimulator, client: ModbusTcpClient, losses: Losses
) -> None:
    """A hang-up while waiting ends the request then, not at the timeout."""
    await client.connect("127.0.0.1", sim.port)
    sim.faults.drop_requests = 1
    with pytest.raises(ModbusConnectionLostError):
        await client.read_holding_registers(0, 1)
    assert not client.connected
    assert losses.count == 1
    with pytest.raises(ModbusConnectionError, match="not connected"):
        await client.read_holding_registers(0, 1)
    await client.connect("127.0.0.1", sim.port)
    assert await client.read_holding_registers(0, 1) == [0x6201]


async def test_idle_close_is_reported(
    sim: FemsModbusSimulator, client: ModbusTcpClient, losses: Losses, clock: FakeClock
) -> None:
    """The device closes a connection after 60 s idle: the owner learns it without a request."""
    await client.connect("127.0.0.1", sim.port)
    await client.read_holding_registers(0, 1)
    clock.advance(60)
    sim.tick()
    for _ in range(200):
        if losses.count:
            break
        await asyncio.sleep(0.01)
    assert losses.count == 1
    assert not client.connected


async def test_silent_device_times_out(sim: FemsModbusSimulator) -> None:
    """No answer within the timeout is a TimeoutError; the connection stays usable."""
    client = ModbusTcpClient(timeout=0.2)
    await client.connect("127.0.0.1", sim.port)
    sim.faults.silent = True
    with pytest.raises(TimeoutError):
        await client.read_holding_registers(0, 1)
    assert client.connected
    sim.faults.reset()
    assert await client.read_holding_registers(0, 1) == [0x6201]
    client.close()


async def test_connect_refused(clock: FakeClock, losses: Losses) -> None:
    """Nothing listening: a connection error, nothing reported lost."""
    simulator = make_simulator(clock)
    await simulator.start()
    port = simulator.port
    await simulator.stop()
    client = ModbusTcpClient(timeout=PATIENT_S, on_connection_lost=losses)
    with pytest.raises(ModbusConnectionError, match="cannot connect"):
        await client.connect("127.0.0.1", port)
    assert not client.connected
    assert losses.count == 0


async def test_connect_again_replaces_the_connection(
    sim: FemsModbusSimulator, client: ModbusTcpClient, losses: Losses
) -> None:
    """A second connect closes the first: never two connections to one device."""
    await client.connect("127.0.0.1", sim.port)
    await client.connect("127.0.0.1", sim.port)
    assert await client.read_holding_registers(0, 1) == [0x6201]
    assert sim.connections_accepted == 2
    await connections_settle(sim, (1, 0))
    client.close()
    await connections_settle(sim, (0, 0))
    assert losses.count == 0  # closing is the owner's doing, not news


# --- against a raw server -------------------------------------------------------------------


class Peer:
    """The server side of one connection, driven by the test."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self) -> tuple[int, int, bytes]:
        """The next request: transaction id, unit id, PDU."""
        header = await asyncio.wait_for(self.reader.readexactly(7), PATIENT_S)
        tid, protocol, length, unit = struct.unpack(">HHHB", header)
        assert protocol == 0
        pdu = await asyncio.wait_for(self.reader.readexactly(length - 1), PATIENT_S)
        return tid, unit, pdu

    async def send(self, *parts: bytes, pause: float = 0.0) -> None:
        """Write `parts`, each on its own, `pause` seconds apart."""
        for part in parts:
            self.writer.write(part)
            await self.writer.drain()
            if pause:
                await asyncio.sleep(pause)

    async def closed_by_client(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), PATIENT_S) == b""

    def hang_up(self) -> None:
        self.writer.close()


class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to the test as a `Peer`."""

    def __init__(self) -> None:
        self._peers: asyncio.Queue[Peer] = asyncio.Queue()
        self._accepted: list[Peer] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        self._accepted.append(peer)
        await self._peers.put(peer)

    async def peer(self) -> Peer:
        return await asyncio.wait_for(self._peers.get(), PATIENT_S)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for peer in self._accepted:
            peer.hang_up()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2)


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    """A raw server."""
    server = RawServer()
    await server.start()
    yield server
    await server.stop()


async def connected(client: ModbusTcpClient, raw: RawServer) -> Peer:
    await client.connect("127.0.0.1", raw.port)
    return await raw.peer()


async def abandon(task: asyncio.Task[object]) -> None:
    """Cancel a request the test has seen enough of."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def frame(tid: int, pdu: bytes, *, unit: int = 1, protocol: int = 0, length: int = 0) -> bytes:
    """An MBAP frame; `length` 0: the right one."""
    return struct.pack(">HHHB", tid, protocol, length or len(pdu) + 1, unit) + pdu


def registers(*words: int) -> bytes:
    """An FC 3 answer PDU."""
    return bytes([3, 2 * len(words)]) + struct.pack(f">{len(words)}H", *words)


async def test_request_frames(raw: RawServer, client: ModbusTcpClient) -> None:
    """MBAP and PDU bytes exactly as the Modbus spec has them; transaction ids count up."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(302, 3))
    tid, unit, pdu = await peer.request()
    assert (tid, unit, pdu) == (1, 1, bytes.fromhex("03 012E 0003"))
    await peer.send(frame(tid, registers(0x57, 0xC51C, 0x4000)))
    assert await read == [0x57, 0xC51C, 0x4000]
    write = asyncio.create_task(client.write_registers(706, [0xC51C, 0x4000]))
    tid, unit, pdu = await peer.request()
    assert (tid, unit, pdu) == (2, 1, bytes.fromhex("10 02C2 0002 04 C51C 4000"))
    await peer.send(frame(tid, bytes.fromhex("10 02C2 0002")))
    assert await write is None


async def test_transaction_id_wraps(raw: RawServer, client: ModbusTcpClient) -> None:
    """After 65535 comes 0 (mod 65536)."""
    peer = await connected(client, raw)
    client._tid = 0xFFFE  # as after 65534 requests
    for expected in (0xFFFF, 0, 1):
        read = asyncio.create_task(client.read_holding_registers(0, 1))
        tid, _unit, _pdu = await peer.request()
        assert tid == expected
        await peer.send(frame(tid, registers(tid)))
        assert await read == [tid]


async def test_stale_answer_then_the_right_one(raw: RawServer, client: ModbusTcpClient) -> None:
    """An answer with another transaction id is not this request's: dropped, keep waiting."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    tid, _unit, _pdu = await peer.request()
    await peer.send(frame(tid - 1, registers(0xDEAD)), pause=0.05)
    assert not read.done()
    await peer.send(frame(tid, registers(0x6201)))
    assert await read == [0x6201]
    assert client.connected


async def test_two_answers_in_one_segment(raw: RawServer, client: ModbusTcpClient) -> None:
    """A stale answer and the right one in one segment; then the right one and a stray one."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 2))
    tid, _unit, _pdu = await peer.request()
    await peer.send(frame(tid + 7, registers(1, 2)) + frame(tid, registers(3, 4)))
    assert await read == [3, 4]
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    tid, _unit, _pdu = await peer.request()
    # The stray answer after it answers nothing in flight: dropped as well.
    await peer.send(frame(tid, registers(5)) + frame(tid, registers(6)))
    assert await read == [5]
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    tid, _unit, _pdu = await peer.request()
    await peer.send(frame(tid, registers(7)))
    assert await read == [7]


async def test_answer_split_across_segments(raw: RawServer, client: ModbusTcpClient) -> None:
    """Partial headers and partial PDUs are put together; a frame may end with the next's start."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 3))
    tid, _unit, _pdu = await peer.request()
    whole = frame(tid, registers(0x1111, 0x2222, 0x3333))
    await peer.send(whole[:3], whole[3:8], whole[8:10], whole[10:], pause=0.02)
    assert await read == [0x1111, 0x2222, 0x3333]
    # The next answer's first bytes ride on a stale answer's segment.
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    tid, _unit, _pdu = await peer.request()
    nxt = frame(tid, registers(0x4444))
    await peer.send(frame(tid - 1, registers(9)) + nxt[:9], nxt[9:], pause=0.02)
    assert await read == [0x4444]


async def test_timeout_then_late_answer(raw: RawServer) -> None:
    """The answer to a request that timed out, arriving during the next, is not the next's."""
    client = ModbusTcpClient(timeout=0.2)
    peer = await connected(client, raw)
    with pytest.raises(TimeoutError, match="no answer"):
        await client.read_holding_registers(0, 1)
    first, _unit, _pdu = await peer.request()
    assert client.connected
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    second, _unit, _pdu = await peer.request()
    assert second == first + 1
    await peer.send(frame(first, registers(0xAAAA)), pause=0.05)
    assert not read.done()
    await peer.send(frame(second, registers(0xBBBB)))
    assert await read == [0xBBBB]
    client.close()


async def test_cancelled_request_leaves_the_connection_usable(
    raw: RawServer, client: ModbusTcpClient
) -> None:
    """Cancelling stays cancelling; its late answer is dropped."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    first, _unit, _pdu = await peer.request()
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    second, _unit, _pdu = await peer.request()
    await peer.send(frame(first, registers(1)) + frame(second, registers(2)))
    assert await read == [2]


async def test_cancel_then_close_before_the_task_wakes(
    raw: RawServer, client: ModbusTcpClient, losses: Losses
) -> None:
    """Unload cancels the poll and closes at once: the cancellation is what the task sees."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    await peer.request()
    read.cancel()
    client.close()  # the task has not run since the cancel
    with pytest.raises(asyncio.CancelledError):
        await read
    assert await peer.closed_by_client()
    assert losses.count == 0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda tid: frame(tid, registers(1), protocol=1), "protocol id 1"),
        (lambda tid: frame(tid, registers(1), unit=2), "from unit 2"),
        (lambda tid: frame(tid, bytes([4, 2, 0, 1])), "function 4"),  # FC 4 for FC 3
        (lambda tid: frame(tid, bytes([0x83, 2, 0])), "function 131"),  # exception, 3 bytes
        (lambda tid: frame(tid, bytes([0x84, 2])), "function 132"),  # another's exception
        (lambda tid: frame(tid, registers(1, 2)), "wrong number of registers"),  # 2 for 1
        (lambda tid: frame(tid, bytes([3, 4, 0, 1])), "wrong number of registers"),  # count 4
        (lambda tid: frame(tid, bytes([3, 2, 0, 1, 0])), "wrong number of registers"),
        (lambda tid: frame(tid, b"", length=256), "length 256"),  # oversized, nothing follows
        (lambda tid: frame(tid, b"\x03", length=2), "length 2"),  # too short for any PDU
    ],
    ids=[
        "protocol_id",
        "unit_id",
        "function_code",
        "exception_length",
        "exception_function",
        "byte_count_too_big",
        "byte_count_beyond_data",
        "data_beyond_byte_count",
        "length_oversized",
        "length_too_short",
    ],
)
async def test_broken_answers_close_the_connection(
    raw: RawServer,
    client: ModbusTcpClient,
    losses: Losses,
    answer: Callable[[int], bytes],
    message: str,
) -> None:
    """An answer that breaks the framing is a protocol error, and the connection is closed."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    tid, _unit, _pdu = await peer.request()
    await peer.send(answer(tid))
    with pytest.raises(ModbusProtocolError, match=message):
        await read
    assert not client.connected
    assert losses.count == 1
    assert await peer.closed_by_client()


async def test_write_answers_must_echo(raw: RawServer, client: ModbusTcpClient) -> None:
    """A write answer with another address or quantity is a protocol error."""
    peer = await connected(client, raw)
    write = asyncio.create_task(client.write_registers(706, [1, 2]))
    tid, _unit, _pdu = await peer.request()
    await peer.send(frame(tid, bytes.fromhex("10 02C4 0002")))
    with pytest.raises(ModbusProtocolError, match="echo"):
        await write
    assert await peer.closed_by_client()


async def test_exception_answer(raw: RawServer, client: ModbusTcpClient) -> None:
    """0x80 | function code with an exception code: the typed error, connection kept."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    tid, _unit, _pdu = await peer.request()
    await peer.send(frame(tid, bytes([0x83, 0x06])))
    with pytest.raises(ModbusExceptionError, match="exception 6 to function 3") as err:
        await read
    assert err.value.code == 6
    write = asyncio.create_task(client.write_registers(0, [1]))
    tid, _unit, _pdu = await peer.request()
    await peer.send(frame(tid, bytes([0x90, 0x04])))
    with pytest.raises(ModbusExceptionError) as err:
        await write
    assert (err.value.function, err.value.code) == (16, 4)
    assert client.connected


async def test_peer_closing_mid_answer(
    raw: RawServer, client: ModbusTcpClient, losses: Losses
) -> None:
    """Half an answer, then the hang-up: the request fails as lost, not as timed out."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 2))
    tid, _unit, _pdu = await peer.request()
    await peer.send(frame(tid, registers(1, 2))[:9], pause=0.02)
    peer.hang_up()
    with pytest.raises(ModbusConnectionLostError):
        await read
    assert losses.count == 1
    assert not client.connected


async def test_garbage_while_idle_closes(
    raw: RawServer, client: ModbusTcpClient, losses: Losses
) -> None:
    """Bytes that are not Modbus/TCP with no request in flight: closed, and reported."""
    peer = await connected(client, raw)
    await peer.send(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert await peer.closed_by_client()
    assert losses.count == 1
    assert not client.connected


async def test_one_request_at_a_time(raw: RawServer, client: ModbusTcpClient) -> None:
    """A second request while one waits is a bug of the caller's, and sends nothing."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    tid, _unit, _pdu = await peer.request()
    with pytest.raises(RuntimeError, match="in flight"):
        await client.read_holding_registers(1, 1)
    await peer.send(frame(tid, registers(0x6201)))
    assert await read == [0x6201]
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    assert (await peer.request())[0] == tid + 1  # the refused one never went out
    await abandon(read)


async def test_close_fails_the_waiting_request(
    raw: RawServer, client: ModbusTcpClient, losses: Losses
) -> None:
    """Closing while a request waits ends it as a connection error; nothing is 'lost'."""
    peer = await connected(client, raw)
    read = asyncio.create_task(client.read_holding_registers(0, 1))
    await peer.request()
    client.close()
    with pytest.raises(ModbusConnectionError, match="closed"):
        await read
    assert losses.count == 0
    assert await peer.closed_by_client()
    client.close()  # twice is harmless
    assert not client.connected


@pytest.mark.parametrize(
    ("address", "count", "message"),
    [(0, 0, "count 0"), (0, 126, "count 126"), (-1, 1, "address -1"), (65535, 2, "beyond")],
)
async def test_read_arguments(
    raw: RawServer, client: ModbusTcpClient, address: int, count: int, message: str
) -> None:
    """Bad read arguments raise before anything is sent."""
    peer = await connected(client, raw)
    with pytest.raises(ValueError, match=message):
        await client.read_holding_registers(address, count)
    read = asyncio.create_task(client.read_holding_registers(65535, 1))  # the last register
    tid, _unit, pdu = await peer.request()
    assert (tid, pdu) == (1, bytes.fromhex("03 FFFF 0001"))
    await abandon(read)


@pytest.mark.parametrize(
    ("address", "words", "message"),
    [
        (0, [], "0 words"),
        (0, [0] * 124, "124 words"),
        (0, [65536], "not 0..65535"),
        (0, [1, -1], "not 0..65535"),
        (65535, [1, 2], "beyond"),
    ],
)
async def test_write_arguments(
    raw: RawServer, client: ModbusTcpClient, address: int, words: list[int], message: str
) -> None:
    """Bad write arguments raise before anything is sent."""
    peer = await connected(client, raw)
    with pytest.raises(ValueError, match=message):
        await client.write_registers(address, words)
    write = asyncio.create_task(client.write_registers(65535, [0xFFFF]))
    tid, _unit, pdu = await peer.request()
    assert (tid, pdu) == (1, bytes.fromhex("10 FFFF 0001 02 FFFF"))
    await abandon(write)


async def test_unit_id_range() -> None:
    """A unit id is one byte."""
    with pytest.raises(ValueError, match="unit id 256"):
        ModbusTcpClient(256)
    assert ModbusTcpClient(0).unit_id == 0
