"""The FEMS Modbus/TCP simulator, frame by frame, against fems-openems-api-notes.md §2."""

from __future__ import annotations

import asyncio
import math
import struct

import pytest

from simulators.fems_modbus import FemsModbusSimulator
from simulators.fems_modbus.table import (
    FEMS_HOME,
    FENECON_PRO,
    GENERIC_ESS,
    EssLayout,
    RecordType,
    encode,
    java_hash16,
)

from .conftest import FakeClock, RawModbus, make_simulator

NAN32 = [0x7FC0, 0x0000]
NAN64 = [0x7FF8, 0, 0, 0]


def words_of(text: str) -> list[int]:
    return list(encode(RecordType.STRING16, text))


def float_words(value: float) -> list[int]:
    return list(struct.unpack(">HH", struct.pack(">f", value)))


# --- §2.10 test vectors ---------------------------------------------------------------------


async def test_pdu_test_vectors(sim: FemsModbusSimulator, raw: RawModbus) -> None:
    """Every request/response pair of §2.10, byte for byte."""
    sim.overrides["_sum/EssSoc"] = 87
    sim.overrides["_sum/EssActivePower"] = -2500
    assert await raw.read(0, 1) == bytes.fromhex("03026201")
    assert await raw.read(302, 3) == bytes.fromhex("0306 0057 C51C 4000")
    assert await raw.read(302, 2) == bytes.fromhex("8302")
    assert await raw.read(304, 1) == bytes.fromhex("0302FFFF")
    assert await raw.read(0, 1, unit=2) == bytes.fromhex("8302")
    assert await raw.write_single(302, 5) == bytes.fromhex("06012E0005")
    assert await raw.registers(302, 1) == [87]  # an RO record: unchanged
    assert await raw.write_single(706, 0) == bytes.fromhex("8602")
    assert await raw.write(706, [0xC51C, 0x4000]) == bytes.fromhex("1002C20002")
    assert sim.battery.setpoint_w == -2500


def test_nature_hashes() -> None:
    """The low 16 bits of Java's String.hashCode (§2.2)."""
    assert java_hash16("OpenEMS") == 0x6201
    assert java_hash16("OpenemsComponent") == 0xB3DC
    assert java_hash16("Sum") == 0x462B
    assert java_hash16("SymmetricEss") == 0x42EE
    assert java_hash16("ManagedSymmetricEss") == 0xA3ED
    assert java_hash16("AsymmetricEss") == 0x958F
    assert java_hash16("ManagedAsymmetricEss") == 0x5470
    assert java_hash16("HybridEss") == 0xBDC9
    assert java_hash16("GoodWeEss") == 0x84FA


# --- layout -----------------------------------------------------------------------------------


async def test_meta_and_sum_block(sim: FemsModbusSimulator, raw: RawModbus) -> None:
    """_meta at 0..104, `_sum` at 200 with its two natures (§2.3, §2.4, §2.6)."""
    meta = await raw.registers(0, 105)
    assert meta[:5] == [0x6201, 199, 2026, 5, 0]
    assert meta[5:21] == words_of("FENECON GmbH")
    assert meta[21:37] == words_of("FEMS Home 10")
    assert meta[69:85] == words_of("FH10-2401-0815")
    assert meta[85:101] == words_of("EMS0042123")
    assert await raw.registers(105, 95) == [0xFFFF] * 95
    block = await raw.registers(200, 23)
    assert block[:16] == words_of("_sum") == [0x5F73, 0x756D] + [0] * 14
    assert block[16:] == [300, 0xFFFF, 0xFFFF, 0xFFFF, 0xB3DC, 80, 0]
    assert await raw.registers(223, 77) == [0xFFFF] * 77
    assert await raw.registers(300, 2) == [0x462B, 220]


@pytest.mark.parametrize(
    ("layout", "natures", "length"),
    [
        (FEMS_HOME, [(520, 0xB3DC, 80), (600, 0x42EE, 100), (700, 0xA3ED, 100),
                     (800, 0xBDC9, 100), (900, 0x84FA, 100)], 480),
        (GENERIC_ESS, [(520, 0xB3DC, 80), (600, 0x42EE, 100), (700, 0xA3ED, 100)], 280),
        (FENECON_PRO, [(520, 0xB3DC, 80), (600, 0x42EE, 100), (700, 0x958F, 100),
                       (800, 0xA3ED, 100)], 380),
    ],
)  # fmt: skip
async def test_ess_block_per_layout(
    clock: FakeClock, layout: EssLayout, natures: list[tuple[int, int, int]], length: int
) -> None:
    """ess0 at 500; its natures by hash and length; the table ends at 500 + L (§2.7)."""
    async with make_simulator(clock, layout=layout) as simulator:
        raw = await RawModbus.open(simulator.port)
        header = await raw.registers(500, 20)
        assert header[:16] == words_of("ess0")
        assert header[16] == length
        for start, hash_value, nature_length in natures:
            assert await raw.registers(start, 2) == [hash_value, nature_length]
        managed = next(start for start, hash_value, _ in natures if hash_value == 0xA3ED)
        # Min/max power set-point, then the write-only SetActivePowerEquals (reads NaN).
        assert await raw.registers(managed + 2, 6) == [
            *float_words(-5000),
            *float_words(5000),
            *NAN32,
        ]
        assert await raw.registers(500 + length, 22) == [0xFFFF] * 22
        await raw.close()


async def test_second_ess_follows_the_first(clock: FakeClock) -> None:
    """A FEMS Home ess0 is 480 long, so the next component starts at 980, not 1000."""
    async with make_simulator(clock, components=("_sum", "ess0", "ess1")) as simulator:
        raw = await RawModbus.open(simulator.port)
        assert (await raw.registers(980, 17))[:16] == words_of("ess1")
        assert simulator.address_of("ess1", "ManagedSymmetricEss", 4) == 1186
        await raw.close()


async def test_read_only_api_exports_only_sum(clock: FakeClock) -> None:
    """The read-only app's default component_ids is `_sum` alone."""
    async with make_simulator(clock, read_write=False) as simulator:
        raw = await RawModbus.open(simulator.port)
        assert await raw.registers(500, 22) == [0xFFFF] * 22
        await raw.close()


# --- encodings --------------------------------------------------------------------------------


async def test_encodings(sim: FemsModbusSimulator, raw: RawModbus) -> None:
    """float32, float64 and a signed value in a uint16, big-endian, high word first (§2.5)."""
    sim.overrides["_sum/GridActivePower"] = 1234.5
    sim.overrides["_sum/ProductionActivePower"] = 5000
    sim.overrides["_sum/GridBuyActiveEnergy"] = 123456.0
    sim.overrides["ess0/DcDischargePower"] = -300
    assert await raw.registers(315, 2) == [0x449A, 0x5000]
    assert await raw.registers(327, 2) == [0x459C, 0x4000]
    assert await raw.registers(359, 4) == [0x40FE, 0x2400, 0, 0]
    assert await raw.registers(802, 1) == [0xFED4]  # two's complement of −300


async def test_undefined_encodings(sim: FemsModbusSimulator, raw: RawModbus) -> None:
    """Null is 0xFFFF, NaN, all ones or all NUL by type; no record at all is 0xFFFF."""
    sim.undefined |= {
        "_sum/EssSoc",
        "_sum/GridMode",
        "_sum/GridActivePower",
        "_sum/GridBuyActiveEnergy",
        "_meta/SystemTimeUtc",
    }
    assert await raw.registers(302, 1) == [0xFFFF]
    assert await raw.registers(417, 1) == [0xFFFF]
    assert await raw.registers(315, 2) == NAN32
    assert await raw.registers(359, 4) == NAN64
    assert await raw.registers(101, 4) == [0xFFFF] * 4
    assert await raw.registers(305, 2) == NAN32  # a reserved record
    assert await raw.registers(422, 4) == [0xFFFF] * 4  # no record


async def test_undefined_string(clock: FakeClock) -> None:
    """An undefined string16 is 16 words of 0x0000."""
    async with make_simulator(clock, ems_serial_number=None) as simulator:
        raw = await RawModbus.open(simulator.port)
        assert await raw.registers(85, 16) == [0] * 16
        await raw.close()


@pytest.mark.parametrize(
    ("firmware", "address", "count"),
    [
        ("2024.10.0", 420, 2),  # EssCapacity from 2024.11.0
        ("2024.7.0", 418, 2),  # GridModeOffGridTime from 2024.8.0
        ("2022.3.0", 417, 1),  # GridMode from 2022.4.0
        ("2021.10.0", 383, 8),  # EssDc…Energy from 2021.11.0
        ("2021.10.0", 415, 2),  # EssDischargePower from 2021.11.0
        ("2019.8.0", 391, 24),  # L1–L3 from 2019.9
    ],
)
async def test_later_registers_are_unmapped_on_older_firmware(
    clock: FakeClock, firmware: str, address: int, count: int
) -> None:
    """Registers a release did not have yet read 0xFFFF, without an exception (§2.6)."""
    async with make_simulator(clock, firmware=firmware) as simulator:
        raw = await RawModbus.open(simulator.port)
        assert await raw.registers(address, count) == [0xFFFF] * count
        assert (await raw.registers(2, 3))[0] == int(firmware.split(".", maxsplit=1)[0])
        await raw.close()


async def test_values_follow_the_battery_each_cycle(
    sim: FemsModbusSimulator, raw: RawModbus, clock: FakeClock
) -> None:
    """SoC and energy counters come from the battery model, refreshed once per cycle."""
    soc_before = (await raw.registers(302, 1))[0]
    charged_before = await raw.registers(383, 4)
    clock.advance(3600)  # an hour of 1 kW PV surplus into a 10 kWh battery
    assert (await raw.registers(302, 1))[0] == soc_before + 10
    assert await raw.registers(383, 4) != charged_before


# --- exceptions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "count", "ok"),
    [
        (300, 126, True),  # the most OpenEMS allows
        (300, 127, False),  # "max. 126 registers allowed"
        (200, 126, False),  # the reserved float32 at 325 crosses the end
        (300, 122, True),
        (302, 3, True),
        (303, 1, False),  # a float32 that does not fit
        (351, 3, False),  # a float64 that does not fit
        (200, 15, False),  # a string16 that does not fit
        (0xFFF0, 0x20, False),  # beyond the last address
        (1000, 0, False),
    ],
)
async def test_read_range_rules(raw: RawModbus, address: int, count: int, ok: bool) -> None:
    """Exception 0x02 for too many registers and for a range ending inside a record."""
    answer = await raw.read(address, count)
    if ok:
        assert answer[0] == 3
        assert answer[1] == 2 * count
    else:
        assert answer == bytes.fromhex("8302")


async def test_fc4_equals_fc3(raw: RawModbus) -> None:
    """Input and holding registers are the same process image."""
    holding = await raw.read(300, 122, function=3)
    inputs = await raw.read(300, 122, function=4)
    assert inputs[0] == 4
    assert inputs[1:] == holding[1:]
    assert await raw.read(302, 2, function=4) == bytes.fromhex("8402")


async def test_coils_read_all_false(raw: RawModbus) -> None:
    """FC 1 and 2 answer with all-false bits and no exception."""
    assert await raw.read(0, 8, function=1) == bytes.fromhex("010100")
    assert await raw.read(100, 10, function=2) == bytes.fromhex("02020000")


@pytest.mark.parametrize(
    "pdu",
    [
        bytes.fromhex("0500000000"),  # write single coil
        bytes.fromhex("2B0E0100"),  # read device identification
        bytes.fromhex("41000000"),  # no such function
    ],
)
async def test_other_function_codes_are_illegal(raw: RawModbus, pdu: bytes) -> None:
    """Function codes the FEMS does not serve get exception 0x01."""
    assert await raw.request(pdu) == bytes([pdu[0] | 0x80, 0x01])


# --- writes -----------------------------------------------------------------------------------


async def test_write_range_rules(sim: FemsModbusSimulator, raw: RawModbus) -> None:
    """FC 16 must not end inside a record; FC 6 needs a one-word record (§2.9)."""
    assert await raw.write(706, [0xC51C]) == bytes.fromhex("9002")  # half a float32
    assert await raw.write(705, [0, 0xC51C]) == bytes.fromhex("9002")
    assert await raw.write_single(300, 1) == bytes.fromhex("06012C0001")  # a header word
    assert await raw.write_single(223, 1) == bytes.fromhex("8602")  # no record there
    assert await raw.write(0, [1], unit=2) == bytes.fromhex("9002")
    assert sim.writes.records == []
    assert sim.battery.setpoint_w is None


async def test_ignored_writes_answer_like_accepted_ones(
    sim: FemsModbusSimulator, raw: RawModbus
) -> None:
    """Writes to RO records, headers and gaps are echoed and have no effect."""
    before = await raw.registers(315, 2)
    assert await raw.write(315, float_words(9999)) == bytes.fromhex("10013B0002")
    assert await raw.write(216, [1]) == bytes.fromhex("1000D80001")
    assert await raw.write(707, [0x4000]) == bytes.fromhex("1002C30001")  # mid-record
    assert await raw.registers(315, 2) == before
    assert await raw.registers(216, 1) == [300]
    assert sim.writes.records == []
    assert {write.reason for write in sim.writes.rejected} == {"ignored: not a write channel"}


async def test_read_only_api_ignores_every_write(clock: FakeClock) -> None:
    """On the read-only app writes are echoed and dropped; WO records read NaN."""
    async with make_simulator(clock, read_write=False, components=("_sum", "ess0")) as simulator:
        raw = await RawModbus.open(simulator.port)
        assert await raw.write(706, float_words(-2500)) == bytes.fromhex("1002C20002")
        assert simulator.writes.records == []
        assert simulator.writes.rejected[-1].reason == "ignored: read-only API"
        assert simulator.battery.setpoint_w is None
        assert await raw.registers(706, 2) == NAN32
        await raw.close()


async def test_nan_releases_and_timeout_drops_everything(
    sim: FemsModbusSimulator, raw: RawModbus, clock: FakeClock
) -> None:
    """NaN is applied as null; one shared 60 s timer drops every pending write (§2.9)."""
    await raw.write(706, float_words(1500))
    await raw.write(714, float_words(-2000))  # SetActivePowerGreaterOrEquals
    assert sim.battery.setpoint_w == 1500
    assert sim.battery.charge_limit_w == -2000
    await raw.write(706, NAN32)
    assert sim.battery.setpoint_w is None
    assert math.isnan(float(sim.pending_writes["ess0/SetActivePowerEquals"] or 0))
    assert [record.value for record in sim.writes.records] == [1500.0, -2000.0, None]

    clock.advance(59)
    sim.tick()
    assert sim.battery.charge_limit_w == -2000  # the NaN write re-armed the shared timer
    clock.advance(1)
    sim.tick()
    assert sim.pending_writes == {}
    assert sim.battery.charge_limit_w is None
    assert sim.timeout_expiries == 1


async def test_api_timeout_is_configurable(
    sim: FemsModbusSimulator, raw: RawModbus, clock: FakeClock
) -> None:
    """apiTimeout 0 keeps values until released."""
    sim.api_timeout_s = 0
    await raw.write(706, float_words(800))
    clock.advance(3600)
    sim.tick()
    assert sim.battery.setpoint_w == 800


async def test_component_missing_resets_the_table(sim: FemsModbusSimulator, raw: RawModbus) -> None:
    """A missing configured component leaves only register 0 (§2.3)."""
    sim.component_missing = True
    assert await raw.registers(0, 3) == [0x6201, 0xFFFF, 0xFFFF]
    assert await raw.registers(200, 17) == [0xFFFF] * 17
    sim.component_missing = False
    assert (await raw.registers(0, 2))[1] == 199


# --- connections ------------------------------------------------------------------------------


async def test_idle_connection_is_closed_after_60_s(
    sim: FemsModbusSimulator, raw: RawModbus, clock: FakeClock
) -> None:
    """No traffic for the idle timeout closes the connection; traffic restarts the wait."""
    await raw.registers(0, 1)
    clock.advance(59)
    sim.tick()
    await raw.registers(0, 1)  # still open, and the wait starts again
    clock.advance(59)
    sim.tick()
    assert sim.connections == (1, 0)
    clock.advance(1)
    sim.tick()
    assert await raw.closed_by_peer()
    assert sim.connections == (0, 0)


async def test_at_most_five_connections_are_served(sim: FemsModbusSimulator) -> None:
    """A sixth connection is accepted but waits, unanswered, until a slot frees."""
    clients = [await RawModbus.open(sim.port) for _ in range(6)]
    for client in clients[:5]:
        assert await client.registers(0, 1) == [0x6201]
    clients[5].send(struct.pack(">BHH", 3, 0, 1))
    with pytest.raises(TimeoutError):
        await clients[5].response(wait=0.3)
    assert sim.connections == (5, 1)
    await clients[0].close()
    assert await clients[5].response() == bytes.fromhex("03026201")
    assert sim.peak_connections == 5
    for client in clients[1:]:
        await client.close()


async def test_stop_closes_waiting_connections_too(clock: FakeClock) -> None:
    """Stopping the simulator closes served and waiting connections."""
    simulator = make_simulator(clock, max_connections=1)
    await simulator.start()
    first = await RawModbus.open(simulator.port)
    second = await RawModbus.open(simulator.port)
    await first.registers(0, 1)
    await asyncio.sleep(0.05)
    assert simulator.connections == (1, 1)
    await simulator.stop()
    assert await first.closed_by_peer()
    assert await second.closed_by_peer()
    assert simulator.connections == (0, 0)
    await simulator.stop()  # twice is harmless


async def test_double_start_is_refused(sim: FemsModbusSimulator) -> None:
    """One simulator listens once."""
    with pytest.raises(RuntimeError):
        await sim.start()


async def test_stats_count_requests_and_bytes(sim: FemsModbusSimulator, raw: RawModbus) -> None:
    """The benchmark's figures: requests by function code and bytes both ways."""
    sim.stats.reset()
    await raw.registers(300, 11)
    await raw.write(706, float_words(0))
    assert sim.stats.requests == 2
    assert sim.stats.by_function == {3: 1, 16: 1}
    assert sim.stats.bytes_received == 12 + 17
    assert sim.stats.bytes_sent == (9 + 22) + 12


def test_invalid_connection_limit() -> None:
    """A server serves at least one connection."""
    from simulators.fems_modbus.server import _Gate  # noqa: PLC0415

    with pytest.raises(ValueError, match="at least 1"):
        _Gate(0)


def test_overlapping_records_are_refused() -> None:
    """The table builder never lets two records share a word."""
    from simulators.fems_modbus.table import ModbusTable, Record  # noqa: PLC0415

    table = ModbusTable()
    table.add(Record(10, RecordType.FLOAT32))
    with pytest.raises(ValueError, match="overlap"):
        table.add(Record(11, RecordType.UINT16))


async def test_command_line_launch() -> None:
    """`python -m simulators` options choose the layout and the read-only app."""
    import argparse  # noqa: PLC0415

    from simulators import fems_modbus  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    fems_modbus.CLI.add_arguments(parser)
    args = parser.parse_args(
        [
            "--fems-modbus-port",
            "0",
            "--fems-modbus-layout",
            "fenecon_pro",
            "--fems-modbus-read-only",
        ]
    )
    args.host = "127.0.0.1"
    running = await fems_modbus.CLI.launch(args)
    try:
        assert running.summary.startswith("fems_modbus (fenecon_pro, read-only, firmware 2026.5.0)")
        assert "modbus://127.0.0.1:" in running.summary
    finally:
        await running.stop()
