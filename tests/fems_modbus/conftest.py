"""Fixtures for FEMS over Modbus/TCP: simulators on a fake clock, raw Modbus frames."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import CONF_CONNECTION, CONF_READ_WRITE, DOMAIN
from simulators.battery import BatteryModel, FixedProfile
from simulators.fems_modbus import FemsModbusSimulator

# The REST simulator, for tests that read one FEMS over both transports.
from ..fems_rest.conftest import fems  # noqa: F401

EMS_SERIAL = "EMS0042123"
TITLE = f"FEMS {EMS_SERIAL}"


class FakeClock:
    """A monotonic clock the test moves by hand (the simulator's and battery's time)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_simulator(clock: FakeClock | None = None, **kwargs: Any) -> FemsModbusSimulator:
    """A FEMS with fixed PV 2 kW and house load 1 kW on `clock`."""
    clock = clock or FakeClock()
    battery = BatteryModel(profile=FixedProfile(pv=2000, load=1000), soc=50, clock=clock)
    kwargs.setdefault("tick_s", 0.05)
    return FemsModbusSimulator(battery=battery, clock=clock, **kwargs)


@pytest.fixture
def clock() -> FakeClock:
    """The simulator's clock."""
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[FemsModbusSimulator]:
    """A running FEMS Home on the read-write Modbus API."""
    async with make_simulator(clock) as simulator:
        yield simulator


async def connections_settle(simulator: FemsModbusSimulator, expected: tuple[int, int]) -> None:
    """Wait (briefly) until the server has seen connections open or close."""
    for _ in range(200):
        if simulator.connections == expected:
            return
        await asyncio.sleep(0.005)
    assert simulator.connections == expected


def entry_data(simulator: FemsModbusSimulator, *, read_write: bool = True) -> dict[str, Any]:
    """Config-entry data that reaches `simulator`."""
    return {
        CONF_CONNECTION: "fems_modbus",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: simulator.port,
        CONF_READ_WRITE: read_write,
    }


async def setup_entry(
    hass: HomeAssistant,
    simulator: FemsModbusSimulator,
    *,
    read_write: bool = True,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add and set up a FEMS Modbus entry for `simulator`."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=EMS_SERIAL,
        title=TITLE,
        data=entry_data(simulator, read_write=read_write),
        options=options or {},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


class RawModbus:
    """A bare Modbus/TCP client that sends exactly the bytes a test asks for."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._tid = 0

    @classmethod
    async def open(cls, port: int) -> RawModbus:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, pdu: bytes, unit: int = 1, wait: float = 5) -> bytes:
        """Send one PDU, return the response PDU (function code onwards)."""
        self.send(pdu, unit)
        return await self.response(wait)

    def send(self, pdu: bytes, unit: int = 1) -> None:
        self._tid += 1
        self._writer.write(struct.pack(">HHHB", self._tid, 0, len(pdu) + 1, unit) + pdu)

    async def response(self, wait: float = 5) -> bytes:
        header = await asyncio.wait_for(self._reader.readexactly(7), wait)
        tid, protocol, length, _unit = struct.unpack(">HHHB", header)
        assert (tid, protocol) == (self._tid, 0)
        return await asyncio.wait_for(self._reader.readexactly(length - 1), wait)

    async def read(self, address: int, count: int, *, function: int = 3, unit: int = 1) -> bytes:
        return await self.request(struct.pack(">BHH", function, address, count), unit)

    async def registers(self, address: int, count: int) -> list[int]:
        """Read and return the words; fail on an exception answer."""
        answer = await self.read(address, count)
        assert answer[0] == 3, answer.hex()
        return list(struct.unpack(f">{count}H", answer[2:]))

    async def write(self, address: int, words: list[int], *, unit: int = 1) -> bytes:
        body = struct.pack(">BHHB", 16, address, len(words), 2 * len(words))
        return await self.request(body + struct.pack(f">{len(words)}H", *words), unit)

    async def write_single(self, address: int, word: int, *, unit: int = 1) -> bytes:
        return await self.request(struct.pack(">BHH", 6, address, word), unit)

    async def closed_by_peer(self, wait: float = 5) -> bool:
        """Whether the server closed the connection (EOF)."""
        data = await asyncio.wait_for(self._reader.read(1), wait)
        return data == b""

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


@pytest.fixture
async def raw(sim: FemsModbusSimulator) -> AsyncIterator[RawModbus]:
    """A raw connection to `sim`."""
    client = await RawModbus.open(sim.port)
    yield client
    await client.close()
