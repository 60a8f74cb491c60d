"""`FemsModbusClient` over real sockets against the simulator."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest

from custom_components.energy_flex.api.errors import (
    ApiConnectionError,
    ApiResponseError,
    ApiWriteRejectedError,
    WriteRejectedReason,
)
from custom_components.energy_flex.api.fems import FemsGridMode, FemsState
from custom_components.energy_flex.api.fems_modbus import FemsModbusClient
from simulators.fems_modbus import FemsModbusSimulator
from simulators.fems_modbus.table import (
    FEMS_HOME,
    FENECON_PRO,
    GENERIC_ESS,
    EssLayout,
    Record,
    RecordType,
)

from .conftest import FakeClock, connections_settle, make_simulator

EQUALS = "SetActivePowerEquals"


@pytest.fixture
async def client(sim: FemsModbusSimulator) -> AsyncIterator[FemsModbusClient]:
    """A read-write client of `sim`."""
    modbus = FemsModbusClient("127.0.0.1", sim.port, read_write=True, timeout=2)
    yield modbus
    await modbus.async_close()


def written(sim: FemsModbusSimulator, channel: str = f"ess0/{EQUALS}") -> list[float | None]:
    return [record.value for record in sim.writes.for_channel(channel)]  # type: ignore[misc]


async def wait_until_closed(client: FemsModbusClient) -> None:
    for _ in range(100):
        if not client.connected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the connection stayed open")


@pytest.mark.parametrize(
    ("layout", "address", "discovery_reads"),
    [(FEMS_HOME, 706, 9), (GENERIC_ESS, 706, 7), (FENECON_PRO, 806, 8)],
)
async def test_discovery_on_each_layout(
    clock: FakeClock, layout: EssLayout, address: int, discovery_reads: int
) -> None:
    """The table walk finds SetActivePowerEquals wherever the ESS puts it."""
    async with make_simulator(clock, layout=layout) as simulator:
        client = FemsModbusClient("127.0.0.1", simulator.port, read_write=True)
        table = await client.async_get_table()
        assert table.setpoint_address(EQUALS) == address
        assert table.ess is not None
        assert table.ess.id == "ess0"
        assert [block.id for block in table.layout.components] == ["_sum", "ess0"]
        assert simulator.stats.requests == discovery_reads
        simulator.stats.reset()
        snapshot = await client.async_get_snapshot()
        assert snapshot.allowed_charge_power == -5000
        assert simulator.stats.requests == 3  # one poll: the fewest reads
        # Gaps skipped wherever that adds no read; the ESS nature's hash checked on the way.
        assert [(r.start, r.count) for r in table.reads] == [
            (222, 1),
            (302, 116),
            (address - 6, 6),
        ]
        await client.async_set_channel(EQUALS, -2500)
        assert written(simulator) == [-2500.0]
        assert simulator.battery.setpoint_w == -2500
        await client.async_close()


async def test_snapshot_follows_the_battery(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """Every snapshot field, in Home Assistant's signs, from the battery model."""
    snapshot = await client.async_get_snapshot()
    battery = sim.battery
    assert snapshot.version == "2026.5.0"
    assert snapshot.hostname is None
    assert snapshot.state is FemsState.OK
    assert snapshot.soc == 50
    assert snapshot.battery_power == -1000  # the 1 kW PV surplus charges
    assert snapshot.grid_power == 0
    assert snapshot.production_power == 2000
    assert snapshot.consumption_power == 1000
    assert snapshot.capacity == 10000
    assert snapshot.grid_mode is FemsGridMode.ON_GRID
    assert snapshot.battery_charged_energy == int(battery.charged_wh)
    assert snapshot.battery_discharged_energy == int(battery.discharged_wh)
    assert snapshot.grid_imported_energy == int(battery.grid_import_wh)
    assert snapshot.grid_exported_energy == int(battery.grid_export_wh)
    assert snapshot.produced_energy == int(battery.produced_wh)
    assert snapshot.consumed_energy == int(battery.consumed_wh)
    assert snapshot.allowed_charge_power == -5000
    assert snapshot.allowed_discharge_power == 5000
    meta = (await client.async_get_table()).meta
    assert (meta.manufacturer, meta.model) == ("FENECON GmbH", "FEMS Home 10")
    assert (meta.serial_number, meta.ems_serial_number) == ("FH10-2401-0815", "EMS0042123")


async def test_undefined_values_are_none(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """uint16 0xFFFF, enum 0xFFFF, float32 NaN and float64 NaN all read as unknown."""
    sim.undefined |= {
        "_sum/State",
        "_sum/EssSoc",
        "_sum/GridMode",
        "_sum/EssDischargePower",
        "_sum/GridActivePower",
        "_sum/GridBuyActiveEnergy",
        "_sum/EssDcChargeEnergy",
        "ess0/AllowedChargePower",
    }
    snapshot = await client.async_get_snapshot()
    assert snapshot.state is None
    assert snapshot.soc is None
    assert snapshot.grid_mode is None
    assert snapshot.battery_power is None
    assert snapshot.grid_power is None
    assert snapshot.grid_imported_energy is None
    assert snapshot.battery_charged_energy is None
    assert snapshot.allowed_charge_power is None
    assert snapshot.production_power == 2000  # the rest is still there


async def test_unknown_enum_values_are_none(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """A state or grid mode the integration does not know is unknown, not a guess."""
    sim.overrides["_sum/State"] = 9
    sim.overrides["_sum/GridMode"] = 0
    snapshot = await client.async_get_snapshot()
    assert snapshot.state is None
    assert snapshot.grid_mode is None


async def test_old_firmware_leaves_later_registers_unknown(clock: FakeClock) -> None:
    """Before 2021.11 there is no EssDischargePower or DC energy, before 2024.11 no capacity."""
    async with make_simulator(clock, firmware="2021.10.0") as simulator:
        client = FemsModbusClient("127.0.0.1", simulator.port)
        snapshot = await client.async_get_snapshot()
        assert snapshot.version == "2021.10.0"
        assert snapshot.battery_power is None
        assert snapshot.battery_charged_energy is None
        assert snapshot.capacity is None
        assert snapshot.grid_mode is None
        assert snapshot.soc == 50
        await client.async_close()


@pytest.mark.parametrize("limit", [4, 8, 17, 64])
async def test_values_straddling_a_read_boundary(sim: FemsModbusSimulator, limit: int) -> None:
    """With small reads the plan ends before a value it cannot hold whole: same snapshot."""
    reference = FemsModbusClient("127.0.0.1", sim.port)
    expected = await reference.async_get_snapshot()
    await reference.async_close()
    client = FemsModbusClient("127.0.0.1", sim.port, max_read_registers=limit)
    table = await client.async_get_table()
    sim.stats.reset()
    assert await client.async_get_snapshot() == expected
    # The first poll on a connection also reads the static values (full_reads).
    assert sim.stats.requests == len(table.full_reads) > 3
    assert all(read.count <= limit for read in (*table.reads, *table.full_reads))
    await client.async_close()


# --- connection ---------------------------------------------------------------------------


async def test_reconnects_after_idle_close(
    sim: FemsModbusSimulator, client: FemsModbusClient, clock: FakeClock
) -> None:
    """The device closes a connection after 60 s idle; the next call opens a new one."""
    await client.async_get_snapshot()
    clock.advance(60)
    sim.tick()
    await wait_until_closed(client)
    snapshot = await client.async_get_snapshot()
    assert snapshot.soc is not None
    assert client.connections_opened == 2
    assert sim.connections_accepted == 2
    assert sim.peak_connections == 1


async def test_connection_dropped_mid_request_is_retried_once(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """A drop while waiting for an answer fails fast and is retried on a new connection."""
    await client.async_get_snapshot()
    sim.faults.drop_requests = 1
    snapshot = await client.async_get_snapshot()
    assert snapshot.soc == 50
    assert client.connections_opened == 2


async def test_device_that_keeps_dropping_is_unreachable(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """Two drops in a row are an error; the next call works once the device does."""
    await client.async_get_snapshot()
    sim.faults.drop_requests = 2
    with pytest.raises(ApiConnectionError):
        await client.async_get_snapshot()
    assert not client.connected
    assert (await client.async_get_snapshot()).soc == 50


async def test_silent_device_times_out(sim: FemsModbusSimulator) -> None:
    """No answer within the timeout is a connection error, and the connection is dropped."""
    client = FemsModbusClient("127.0.0.1", sim.port, timeout=0.3)
    await client.async_get_snapshot()
    sim.faults.silent = True
    with pytest.raises(ApiConnectionError):
        await client.async_get_snapshot()
    assert not client.connected
    sim.faults.reset()
    assert (await client.async_get_snapshot()).soc == 50
    await client.async_close()


async def test_connection_refused(clock: FakeClock) -> None:
    """Nothing listening is a connection error."""
    simulator = make_simulator(clock)
    await simulator.start()
    port = simulator.port
    await simulator.stop()
    client = FemsModbusClient("127.0.0.1", port, timeout=1)
    with pytest.raises(ApiConnectionError):
        await client.async_get_snapshot()
    assert not client.connected


async def test_one_connection_for_concurrent_calls(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """Polls and writes at the same time share one connection, one request at a time."""
    await asyncio.gather(
        *(client.async_get_snapshot() for _ in range(5)),
        *(client.async_set_channel(EQUALS, value) for value in (100, 200, 300)),
    )
    assert sim.connections_accepted == 1
    assert sim.peak_connections == 1
    assert written(sim) == [100.0, 200.0, 300.0]


async def test_close_then_use_reconnects(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """Closing (on unload) leaves nothing open; a later call would connect again."""
    await client.async_get_snapshot()
    assert sim.connections == (1, 0)
    await client.async_close()
    assert not client.connected
    assert client.table is None
    await connections_settle(sim, (0, 0))
    await client.async_get_snapshot()
    assert client.connections_opened == 2


# --- untrusted tables -----------------------------------------------------------------------


async def test_not_an_openems_device(sim: FemsModbusSimulator, client: FemsModbusClient) -> None:
    """Register 0 without the OpenEMS marker is refused, and the connection closed."""
    sim.table.records[0] = Record(0, RecordType.UINT16, constant=(0x1234,))
    with pytest.raises(ApiResponseError, match="not an OpenEMS"):
        await client.async_get_snapshot()
    assert not client.connected


async def test_reset_table(sim: FemsModbusSimulator, client: FemsModbusClient) -> None:
    """A table reset by a missing component says so."""
    sim.component_missing = True
    with pytest.raises(ApiResponseError, match="component is missing"):
        await client.async_get_snapshot()


async def test_table_change_is_rediscovered(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """A reconfigured device (header moved) is walked again within the same call."""
    await client.async_get_snapshot()
    old = sim.table
    sim.component_missing = True
    with pytest.raises(ApiResponseError):
        await client.async_get_snapshot()  # the guard notices, the re-walk finds the reset
    sim.component_missing = False
    assert sim.table is not old
    assert (await client.async_get_snapshot()).soc == 50


async def test_exception_answer_triggers_one_rediscovery(
    clock: FakeClock,
) -> None:
    """If the ESS moved (another layout behind the same port), the client follows it."""
    async with make_simulator(clock, layout=FEMS_HOME) as simulator:
        client = FemsModbusClient("127.0.0.1", simulator.port, read_write=True)
        await client.async_get_snapshot()
        assert client.table is not None
        assert client.table.setpoint_address(EQUALS) == 706
        # Swap the table for a Pro layout: 706 is now a read-only float32 of AsymmetricEss.
        simulator.layout = FENECON_PRO
        simulator.component_missing = False  # rebuilds the table
        await client.async_set_channel(EQUALS, 700)  # ignored at 706 (RO), no exception
        assert written(simulator) == []
        assert (await client.async_get_snapshot()).allowed_charge_power == -5000
        assert client.table.setpoint_address(EQUALS) == 806
        await client.async_set_channel(EQUALS, 700)
        assert written(simulator) == [700.0]
        await client.async_close()


async def test_persistent_exception_answers(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """An exception on every poll read is an invalid answer after one re-walk."""
    await client.async_get_snapshot()
    table = client.table
    assert table is not None
    # A record that crosses the end of the ESS poll read: exception 0x02 every time.
    sim.table.records[704] = Record(704, RecordType.FLOAT64)
    with pytest.raises(ApiResponseError, match="exception 2"):
        await client.async_get_snapshot()


# --- writes ---------------------------------------------------------------------------------


async def test_release_writes_nan(sim: FemsModbusSimulator, client: FemsModbusClient) -> None:
    """`None` goes out as float32 NaN, which the device applies as no setpoint."""
    await client.async_set_channel(EQUALS, 1500)
    assert sim.battery.setpoint_w == 1500
    await client.async_set_channel(EQUALS, None)
    assert written(sim) == [1500.0, None]
    assert math.isnan(float(sim.pending_writes[f"ess0/{EQUALS}"] or 0))
    assert sim.battery.setpoint_w is None


async def test_limits_go_to_their_own_records(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """LessOrEquals at +8, GreaterOrEquals at +12 from the nature's records."""
    await client.async_set_channel("SetActivePowerLessOrEquals", 2000)
    await client.async_set_channel("SetActivePowerGreaterOrEquals", -1500.4)
    assert sim.battery.discharge_limit_w == 2000
    assert sim.battery.charge_limit_w == -1500
    assert written(sim, "ess0/SetActivePowerGreaterOrEquals") == [-1500.0]


async def test_read_only_client_sends_nothing(sim: FemsModbusSimulator) -> None:
    """Without the read-write app a write is refused before anything is sent."""
    client = FemsModbusClient("127.0.0.1", sim.port)
    with pytest.raises(ApiWriteRejectedError) as err:
        await client.async_set_channel(EQUALS, 1000)
    assert err.value.reason is WriteRejectedReason.READ_ONLY_API
    assert sim.stats.requests == 0
    await client.async_close()


async def test_table_without_ess_refuses_writes(clock: FakeClock) -> None:
    """The read-only app exports `_sum` only: no address to write, nothing sent."""
    async with make_simulator(clock, read_write=False) as simulator:
        client = FemsModbusClient("127.0.0.1", simulator.port, read_write=True)
        snapshot = await client.async_get_snapshot()
        assert snapshot.allowed_charge_power is None
        simulator.stats.reset()
        with pytest.raises(ApiWriteRejectedError) as err:
            await client.async_set_channel(EQUALS, 1000)
        assert err.value.reason is WriteRejectedReason.NOT_ACCEPTED
        assert simulator.stats.by_function[16] == 0
        await client.async_close()


async def test_unknown_channel_is_a_bug(client: FemsModbusClient) -> None:
    """Only the three ESS write channels exist."""
    with pytest.raises(ValueError, match="not an ESS write channel"):
        await client.async_set_channel("SetReactivePowerEquals", 0)


async def test_controls_ess0_even_when_listed_second(clock: FakeClock) -> None:
    """With several ESS blocks, ess0 is the one written (as over REST)."""
    async with make_simulator(clock, components=("_sum", "ess1", "ess0")) as simulator:
        client = FemsModbusClient("127.0.0.1", simulator.port, read_write=True)
        await client.async_set_channel(EQUALS, 1200)
        assert written(simulator) == [1200.0]
        assert simulator.address_of("ess0", "ManagedSymmetricEss", 4) == 1186
        await client.async_close()


async def test_diagnostics(sim: FemsModbusSimulator, client: FemsModbusClient) -> None:
    """The walked layout and read plan, no serial numbers."""
    assert client.diagnostics() == {"connected": False, "table": None}
    await client.async_get_snapshot()
    diagnostics = client.diagnostics()
    assert diagnostics["set_active_power_equals"] == 706
    assert diagnostics["reads"] == [[222, 1], [302, 116], [700, 6]]
    assert diagnostics["full_reads"] == [[222, 1], [302, 120], [700, 6]]
    assert diagnostics["components"][1]["natures"][2] == ["0xA3ED", 700, 100]
    assert "EMS0042123" not in repr(diagnostics)
    assert repr(client) == f"FemsModbusClient(host='127.0.0.1', port={sim.port})"


async def test_write_refused_twice_is_an_invalid_answer(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """An exception to the write, again after re-walking the table, is reported."""
    await client.async_get_snapshot()
    sim.table.records[706] = Record(706, RecordType.FLOAT64)  # 2 words cannot hold it
    with pytest.raises(ApiResponseError, match="exception 2 on write"):
        await client.async_set_channel(EQUALS, 100)
    assert written(sim) == []


async def test_short_answer_is_refused() -> None:
    """An answer with fewer registers than asked for is never decoded."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readexactly(12)
        # Byte count 2: one register, whatever was asked.
        writer.write(request[:2] + bytes.fromhex("0000 0005 01 03 02 6201"))
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = FemsModbusClient("127.0.0.1", port, timeout=2)
    with pytest.raises(ApiResponseError, match="wrong number of registers"):
        await client.async_get_snapshot()
    await client.async_close()
    server.close()
    await server.wait_closed()


async def test_broken_framing_is_an_invalid_answer() -> None:
    """An answer from another unit: refused, the connection closed, the next call reconnects."""
    answers = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answers
        request = await reader.readexactly(12)
        answers += 1
        # The right transaction id, but unit 7 answering.
        writer.write(request[:2] + bytes.fromhex("0000 0005 07 03 02 6201"))
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = FemsModbusClient("127.0.0.1", port, timeout=2)
    for expected_answers in (1, 2):
        with pytest.raises(ApiResponseError, match="from unit 7"):
            await client.async_get_snapshot()
        assert not client.connected
        assert answers == expected_answers  # no quiet retry: the device did answer
    assert client.connections_opened == 2
    await client.async_close()
    server.close()
    await server.wait_closed()


async def test_cancellation_is_not_swallowed(
    sim: FemsModbusSimulator, client: FemsModbusClient
) -> None:
    """Cancelling a call (unload, shutdown) cancels it, and closes the connection."""
    await client.async_get_snapshot()
    sim.faults.silent = True
    task = asyncio.create_task(client.async_get_snapshot())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not client.connected
