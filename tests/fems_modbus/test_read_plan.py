"""What one Modbus poll reads: the fewest reads, no gap that could be skipped, statics once."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator

import pytest

from custom_components.energy_flex.api.errors import ApiResponseError
from custom_components.energy_flex.api.fems_modbus import FemsModbusClient
from custom_components.energy_flex.api.fems_modbus_table import (
    ModbusType,
    RegisterValue,
    plan_reads,
)
from simulators.fems_modbus import FemsModbusSimulator

from .conftest import FakeClock, connections_settle, make_simulator

# The 16 values one poll shows, at their FEMS Home addresses (notes §2.6, §2.7).
VALUE_REGISTERS = {222, 302, 315, 327, 343, 359, 363, 367, 379, 383, 387, 415, 417, 702, 704}
CAPACITY = 420
GUARD = 700  # the hash of the last nature read (ManagedSymmetricEss)


@pytest.fixture
async def client(sim: FemsModbusSimulator) -> AsyncIterator[FemsModbusClient]:
    """A client of the simulated FEMS Home."""
    modbus = FemsModbusClient("127.0.0.1", sim.port)
    yield modbus
    await modbus.async_close()


def _registers(reads: list[tuple[int, int]]) -> set[int]:
    return {address for start, count in reads for address in range(start, start + count)}


async def test_a_poll_reads_no_gap_it_could_skip(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """3 reads, and exactly the registers from the first value to the last of each run.

    A power user's core `modbus` setup needs 125 registers in 3 reads for the same
    values; a poll here reads 123, the nature hash that guards the addresses included.
    """
    await client.async_get_snapshot()
    sim.stats.reset()
    snapshot = await client.async_get_snapshot()
    assert snapshot.capacity == 10000  # remembered from the first poll
    assert list(sim.stats.reads) == [(222, 1), (302, 116), (700, 6)]
    read = _registers(list(sim.stats.reads))
    assert read >= VALUE_REGISTERS | {GUARD}
    assert CAPACITY not in read
    assert sum(count for _, count in sim.stats.reads) == 123


async def test_capacity_is_read_once_per_connection(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """The first poll on a connection reads the capacity; later polls do not; a new
    connection (a FEMS restart) reads it again."""
    for _ in range(3):
        await client.async_get_snapshot()
    assert list(sim.stats.reads)[-9:] == [
        (222, 1),
        (302, 120),  # with EssCapacity (420–421)
        (700, 6),
        (222, 1),
        (302, 116),
        (700, 6),
        (222, 1),
        (302, 116),
        (700, 6),
    ]
    await client.async_close()
    await connections_settle(sim, (0, 0))
    sim.stats.reset()
    await client.async_get_snapshot()
    assert (302, 120) in sim.stats.reads


async def test_undefined_capacity_is_read_again(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """A FEMS still starting has no capacity yet: the next poll asks again."""
    sim.undefined.add("_sum/EssCapacity")
    assert (await client.async_get_snapshot()).capacity is None
    sim.undefined.clear()
    assert (await client.async_get_snapshot()).capacity == 10000
    sim.stats.reset()
    assert (await client.async_get_snapshot()).capacity == 10000
    assert (302, 116) in sim.stats.reads


async def test_without_an_ess_the_sum_nature_is_the_guard(clock: FakeClock) -> None:
    """The read-only app exports `_sum` alone: its Sum hash (300) guards the poll."""
    async with make_simulator(clock, read_write=False) as simulator:
        modbus = FemsModbusClient("127.0.0.1", simulator.port)
        await modbus.async_get_snapshot()
        simulator.stats.reset()
        await modbus.async_get_snapshot()
        assert list(simulator.stats.reads) == [(222, 1), (300, 118)]
        simulator.component_missing = True  # the table resets: 0xFFFF where the hash was
        with pytest.raises(ApiResponseError, match="component is missing"):
            await modbus.async_get_snapshot()
        await modbus.async_close()


def _brute_force(values: list[RegisterValue], limit: int) -> tuple[int, int]:
    """(reads, registers) of the best split of the sorted values into runs, by trying all."""
    ordered = sorted(values, key=lambda value: value.address)
    best = (len(ordered) + 1, 0)
    for cuts in itertools.product((False, True), repeat=len(ordered) - 1):
        runs, run = [], [ordered[0]]
        for value, cut in zip(ordered[1:], cuts, strict=True):
            if cut:
                runs.append(run)
                run = []
            run.append(value)
        runs.append(run)
        spans = [max(v.end for v in r) - r[0].address + 1 for r in runs]
        if max(spans) <= limit:
            best = min(best, (len(runs), sum(spans)))
    return best


def test_plan_is_the_best_split() -> None:
    """Fewest reads, then fewest registers: the same as trying every split."""
    rng = random.Random(11)  # noqa: S311 (a fixed seed: reproducible cases)
    kinds = [ModbusType.UINT16, ModbusType.FLOAT32, ModbusType.FLOAT64]
    for _ in range(300):
        values, address = [], rng.randrange(100)
        for index in range(rng.randrange(1, 11)):
            kind = rng.choice(kinds)
            values.append(RegisterValue(str(index), address, kind))
            address += kind.words + rng.choice([0, 1, 5, 20, 60, 90])
        limit = rng.choice([8, 30, 125])
        plan = plan_reads(values, limit)
        assert (len(plan), sum(read.count for read in plan)) == _brute_force(values, limit)


def test_plan_skips_a_gap_when_that_costs_no_read() -> None:
    """Greedy windows from the left read 222–316 and 379–421 (138 registers); two reads
    that split before 302 need 121."""
    values = [
        RegisterValue("state", 222, ModbusType.ENUM16),
        RegisterValue("soc", 302, ModbusType.UINT16),
        RegisterValue("grid", 315, ModbusType.FLOAT32),
        RegisterValue("consumed", 379, ModbusType.FLOAT64),
        RegisterValue("capacity", 420, ModbusType.FLOAT32),
    ]
    assert [(read.start, read.count) for read in plan_reads(values)] == [(222, 1), (302, 120)]
