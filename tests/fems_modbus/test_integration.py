"""FEMS over Modbus/TCP in a real Home Assistant: flow, entities, control, lifecycle."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_HOST,
    CONF_PORT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_flex.config_flow import EnergyFlexConfigFlow
from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_KEEPALIVE_INTERVAL,
    CONF_READ_WRITE,
    DOMAIN,
    SetpointKind,
)
from simulators.fems_modbus import FemsModbusSimulator
from simulators.fems_modbus.table import Record, RecordType
from simulators.fems_rest import FemsRestSimulator

from ..fems_rest.conftest import setup_fems_entry
from .conftest import (
    EMS_SERIAL,
    TITLE,
    FakeClock,
    connections_settle,
    make_simulator,
    setup_entry,
)

PREFIX = "fems_ems0042123_"
SETPOINT = f"number.{PREFIX}battery_power_setpoint"
RELEASE = f"button.{PREFIX}release_control"
ACTIVE = f"binary_sensor.{PREFIX}control_active"
EQUALS = "ess0/SetActivePowerEquals"


def sensor(hass: HomeAssistant, key: str) -> str:
    value = hass.states.get(f"sensor.{PREFIX}{key}")
    assert value is not None, key
    return value.state


def writes(simulator: FemsModbusSimulator, channel: str = EQUALS) -> list[Any]:
    return [record.value for record in simulator.writes.for_channel(channel)]


def form(simulator: FemsModbusSimulator, **changes: Any) -> dict[str, Any]:
    data = {CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_READ_WRITE: True}
    return data | changes


async def set_number(hass: HomeAssistant, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: SETPOINT, ATTR_VALUE: value},
        blocking=True,
    )


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def entry(hass: HomeAssistant, sim: FemsModbusSimulator) -> MockConfigEntry:
    """A loaded read-write FEMS Modbus entry."""
    return await setup_entry(hass, sim)


# --- config flow ------------------------------------------------------------------------------


async def open_form(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "fems_modbus" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "fems_modbus"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "fems_modbus"
    assert set(result["data_schema"].schema) == {CONF_HOST, CONF_PORT, CONF_READ_WRITE}
    return result["flow_id"]


async def test_flow_creates_entry_named_by_the_ems_serial(
    hass: HomeAssistant, sim: FemsModbusSimulator
) -> None:
    """Menu → form → an entry identified by `_meta`'s EMS serial number; no write sent."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"{TITLE} (local Modbus)"
    assert result["result"].unique_id == EMS_SERIAL
    assert result["data"] == {
        CONF_CONNECTION: "fems_modbus",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sim.port,
        CONF_READ_WRITE: True,
    }
    assert sim.stats.by_function[16] == 0
    await hass.async_block_till_done()
    assert hass.states.get(SETPOINT) is not None


async def test_flow_defaults_to_port_502_and_read_only(hass: HomeAssistant) -> None:
    """The form suggests the FEMS port and assumes the read-only app (no secrets)."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "fems_modbus"}
    )
    defaults = {
        str(key): key.default() for key in result["data_schema"].schema if str(key) != CONF_HOST
    }
    assert defaults == {CONF_PORT: 502, CONF_READ_WRITE: False}


async def test_flow_read_only_creates_no_control(
    hass: HomeAssistant, sim: FemsModbusSimulator
) -> None:
    """Without the read-write app there is no setpoint, button or control flag."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(sim, **{CONF_READ_WRITE: False})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get(f"sensor.{PREFIX}state_of_charge") is not None
    for entity_id in (SETPOINT, RELEASE, ACTIVE):
        assert hass.states.get(entity_id) is None


@pytest.mark.parametrize(
    ("sim_kwargs", "break_it", "error"),
    [
        ({}, "port", "cannot_connect"),
        ({}, "marker", "modbus_table_invalid"),
        ({}, "reset", "modbus_table_invalid"),
        ({"read_write": False}, None, "modbus_ess_missing"),
    ],
)
async def test_flow_errors_then_recovers(
    hass: HomeAssistant,
    clock: FakeClock,
    sim_kwargs: dict[str, Any],
    break_it: str | None,
    error: str,
) -> None:
    """Each failure shows its error, nothing is written and no connection stays open."""
    async with make_simulator(clock, **sim_kwargs) as simulator:
        simulator.component_missing = break_it == "reset"
        if break_it == "marker":
            simulator.table.records[0] = Record(0, RecordType.UINT16, constant=(0x1234,))
        flow_id = await open_form(hass)
        changes = {CONF_PORT: 1} if break_it == "port" else {}
        result = await hass.config_entries.flow.async_configure(flow_id, form(simulator, **changes))
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}
        assert simulator.writes.records == []
        assert simulator.stats.by_function[16] == 0
        await connections_settle(simulator, (0, 0))
        simulator.component_missing = False  # rebuilds the table, marker included
        result = await hass.config_entries.flow.async_configure(
            flow_id, form(simulator, **{CONF_READ_WRITE: simulator.read_write})
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()


async def test_flow_unexpected_error(
    hass: HomeAssistant, sim: FemsModbusSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug shows `unknown`, not a stack trace."""

    async def broken(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        "custom_components.energy_flex.vendors.fems_modbus.setup.FemsModbusClient.async_get_table",
        broken,
    )
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(sim))
    assert result["errors"] == {"base": "unknown"}


@pytest.mark.parametrize(
    ("ems_serial", "serial", "unique_id", "title"),
    [
        (None, "FH10-2401-0815", "FH10-2401-0815", "FEMS FH10-2401-0815 (local Modbus)"),
        (None, None, "127.0.0.1:{port}", "FEMS 127.0.0.1 (local Modbus)"),
    ],
)
async def test_identity_fallbacks(
    hass: HomeAssistant,
    clock: FakeClock,
    ems_serial: str | None,
    serial: str | None,
    unique_id: str,
    title: str,
) -> None:
    """EMS serial, else the serial number, else the address."""
    async with make_simulator(
        clock, ems_serial_number=ems_serial, serial_number=serial
    ) as simulator:
        flow_id = await open_form(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, form(simulator))
        assert result["result"].unique_id == unique_id.format(port=simulator.port)
        assert result["title"] == title
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_duplicate_is_aborted(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry
) -> None:
    """The same FEMS cannot be added twice."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure(hass: HomeAssistant, clock: FakeClock) -> None:
    """Reconfigure moves the entry to another port and can turn read-write off."""
    async with make_simulator(clock) as simulator:
        entry = await setup_entry(hass, simulator)
        async with make_simulator(clock) as moved:  # the same FEMS on another port
            result = await entry.start_reconfigure_flow(hass)
            assert result["step_id"] == "reconfigure"
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], form(moved, **{CONF_READ_WRITE: False})
            )
            assert result["reason"] == "reconfigure_successful"
            assert entry.data[CONF_PORT] == moved.port
            assert entry.data[CONF_READ_WRITE] is False
            await hass.async_block_till_done()
            # No control any more, and no leftover control entities either.
            assert entry.runtime_data.devices[0].controller is None
            assert hass.states.get(SETPOINT) is None
            assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_another_device_aborts(
    hass: HomeAssistant, clock: FakeClock, entry: MockConfigEntry
) -> None:
    """Reconfigure cannot swap the FEMS behind an entry."""
    async with make_simulator(clock, ems_serial_number="EMS0099999") as other:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form(other))
    assert result["reason"] == "wrong_device"


async def test_options(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The keep-alive interval is an option, as over REST."""
    assert EnergyFlexConfigFlow.async_supports_options_flow(entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_KEEPALIVE_INTERVAL: 20}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_KEEPALIVE_INTERVAL: 20}
    await hass.async_block_till_done()


# --- entities ---------------------------------------------------------------------------------


async def test_same_entities_as_over_rest(
    hass: HomeAssistant,
    sim: FemsModbusSimulator,
    fems: FemsRestSimulator,
    entity_registry: er.EntityRegistry,
) -> None:
    """Modbus and REST give a FEMS the same entity keys, classes and units."""
    modbus_entry = await setup_entry(hass, sim)
    rest_entry = await setup_fems_entry(hass, fems)

    def entities(entry: MockConfigEntry) -> dict[str, tuple[Any, ...]]:
        found = {}
        for item in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
            key = (
                item.unique_id.split("_", 1)[1]
                if entry is rest_entry
                else item.unique_id.removeprefix(f"{EMS_SERIAL}_")
            )
            state = hass.states.get(item.entity_id)
            attributes = {} if state is None else dict(state.attributes)
            found[key] = (
                item.domain,
                item.translation_key,
                attributes.get("device_class"),
                attributes.get("unit_of_measurement"),
                attributes.get("state_class"),
                item.disabled_by,
            )
        return found

    modbus, rest = entities(modbus_entry), entities(rest_entry)
    assert modbus == rest
    assert {"state_of_charge", "battery_power", "battery_power_setpoint", "release_control",
            "control_active", "grid_power", "battery_charged_energy"} <= set(modbus)  # fmt: skip


async def test_values_and_signs(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry
) -> None:
    """Each sensor shows the battery's value in Home Assistant's signs."""
    assert float(sensor(hass, "state_of_charge")) == 50
    assert float(sensor(hass, "battery_power")) == -1000  # PV surplus charges
    assert float(sensor(hass, "battery_charge_power")) == 1000
    assert float(sensor(hass, "battery_discharge_power")) == 0
    assert float(sensor(hass, "grid_power")) == 0
    assert float(sensor(hass, "production_power")) == 2000
    assert float(sensor(hass, "consumption_power")) == 1000
    assert float(sensor(hass, "usable_capacity")) == 10
    assert float(sensor(hass, "stored_energy")) == 5
    assert float(sensor(hass, "allowed_charge_power")) == 5000
    assert sensor(hass, "grid_mode") == "on_grid"
    assert sensor(hass, "system_state") == "ok"
    sim.overrides["_sum/GridActivePower"] = 1234
    sim.overrides["_sum/EssDischargePower"] = 800
    await entry.runtime_data.coordinator.async_refresh()
    assert float(sensor(hass, "grid_power")) == 1234
    assert float(sensor(hass, "battery_power")) == 800


async def test_undefined_values_are_unknown(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry
) -> None:
    """0xFFFF and NaN become unknown, never 0."""
    sim.undefined |= {"_sum/EssSoc", "_sum/GridActivePower", "_sum/EssDcChargeEnergy",
                      "_sum/GridMode", "_sum/EssCapacity"}  # fmt: skip
    # The capacity is read on each new connection only: the FEMS restarts (drops it).
    sim.faults.drop_requests = 1
    await entry.runtime_data.coordinator.async_refresh()
    for key in (
        "state_of_charge",
        "grid_power",
        "battery_charged_energy",
        "grid_mode",
        "usable_capacity",
        "stored_energy",
    ):
        assert sensor(hass, key) == STATE_UNKNOWN, key


async def test_device_info_from_meta(
    hass: HomeAssistant, entry: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """Named as over REST; the product line, firmware and serial come from `_meta`."""
    device = device_registry.async_get_device_by_identifier((DOMAIN, EMS_SERIAL), entry.entry_id)
    assert device is not None
    assert device.manufacturer == "FENECON"
    assert device.model == "FEMS (local Modbus)"
    assert device.model_id == "FEMS Home 10"
    assert device.sw_version == "2026.5.0"
    assert device.serial_number == EMS_SERIAL
    assert device.name == f"FEMS {EMS_SERIAL}"
    # The FEMS web interface, not the Modbus port.
    assert device.configuration_url == "http://127.0.0.1"


async def test_offline_is_unavailable_and_recovers(
    hass: HomeAssistant,
    sim: FemsModbusSimulator,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device that drops every request makes entities unavailable; then it recovers."""
    sim.faults.drop_requests = 1000
    for _ in range(3):
        await entry.runtime_data.coordinator.async_refresh()
    assert sensor(hass, "state_of_charge") == STATE_UNAVAILABLE
    assert caplog.text.count("Error fetching") == 1
    sim.faults.reset()
    await entry.runtime_data.coordinator.async_refresh()
    assert float(sensor(hass, "state_of_charge")) == 50


async def test_unreachable_at_start_retries_setup(hass: HomeAssistant, clock: FakeClock) -> None:
    """The table read at setup: a connection error retries setup (test-before-setup)."""
    simulator = make_simulator(clock)
    await simulator.start()
    await simulator.stop()
    entry = await setup_entry(hass, simulator)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason == "The device could not be reached"


async def test_reset_table_at_start_retries_setup(hass: HomeAssistant, clock: FakeClock) -> None:
    """A table reset by a missing component retries setup too, and recovers."""
    async with make_simulator(clock) as simulator:
        simulator.component_missing = True
        entry = await setup_entry(hass, simulator)
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.reason == "The device sent an answer that could not be read"
        assert simulator.writes.records == []
        simulator.component_missing = False
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconnects_in_home_assistant_after_idle_close(
    hass: HomeAssistant,
    sim: FemsModbusSimulator,
    entry: MockConfigEntry,
    clock: FakeClock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The device closing the idle connection is invisible: the next poll reconnects."""
    assert sim.connections == (1, 0)
    clock.advance(60)
    sim.tick()
    assert sim.connections == (0, 0)
    await tick(hass, freezer, 10)
    assert float(sensor(hass, "state_of_charge")) == 50
    assert sim.connections == (1, 0)
    assert sim.connections_accepted == 2
    assert sim.peak_connections == 1


async def test_unload_releases_then_closes_the_connection(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry
) -> None:
    """Unloading writes NaN for held setpoints and closes the one connection."""
    await set_number(hass, 1000)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert writes(sim) == [1000.0, None]
    for _ in range(100):
        if sim.connections == (0, 0):
            break
        await asyncio.sleep(0.01)
    assert sim.connections == (0, 0)


# --- control ----------------------------------------------------------------------------------


async def test_positive_setpoint_discharges(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry, clock: FakeClock
) -> None:
    """+3000 W in Home Assistant is a float32 +3000 at 706, and the battery discharges."""
    await set_number(hass, 3000)
    assert writes(sim) == [3000.0]
    assert sim.battery.setpoint_w == 3000
    clock.advance(1)  # the next controller cycle
    await entry.runtime_data.coordinator.async_refresh()
    assert float(sensor(hass, "battery_power")) == 3000
    assert hass.states.get(SETPOINT).state == "3000.0"  # type: ignore[union-attr]
    assert hass.states.get(ACTIVE).state == STATE_ON  # type: ignore[union-attr]


async def test_negative_setpoint_charges(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry, clock: FakeClock
) -> None:
    """−2500 W through the action charges at 2500 W."""
    await hass.services.async_call(
        DOMAIN, "set_battery_power", {ATTR_ENTITY_ID: SETPOINT, "power": -2500}, blocking=True
    )
    assert writes(sim) == [-2500.0]
    clock.advance(1)
    await entry.runtime_data.coordinator.async_refresh()
    assert float(sensor(hass, "battery_power")) == -2500


async def test_out_of_range_is_refused_with_nothing_written(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry
) -> None:
    """The ESS's minimum/maximum power set-point bound the setpoint; nothing is sent."""
    sim.stats.reset()
    for value in (5001, -5001):
        with pytest.raises(ServiceValidationError):
            await set_number(hass, value)  # the number's own bounds come from the ESS
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "set_battery_power",
                {ATTR_ENTITY_ID: SETPOINT, "power": value},
                blocking=True,
            )
        assert err.value.translation_key == "setpoint_out_of_range"
    assert sim.stats.by_function[16] == 0
    assert sim.writes.records == []


async def test_unknown_range_refuses_with_nothing_written(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry
) -> None:
    """While the ESS reports no allowed power, the setpoint is unavailable and refused."""
    sim.undefined.add("ess0/AllowedDischargePower")
    await entry.runtime_data.coordinator.async_refresh()
    assert hass.states.get(SETPOINT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    controller = entry.runtime_data.devices[0].controller
    assert controller is not None
    with pytest.raises(ServiceValidationError):
        await controller.async_set(SetpointKind.BATTERY_POWER, 100)
    assert sim.writes.records == []


async def test_keepalive_then_release(
    hass: HomeAssistant,
    sim: FemsModbusSimulator,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A held setpoint is re-written every 30 s; release writes NaN and stops repeating."""
    await set_number(hass, 1200)
    for _ in range(3):
        await tick(hass, freezer, 30)
    assert writes(sim) == [1200.0] * 4
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: RELEASE}, blocking=True
    )
    assert writes(sim)[-1] is None
    assert sim.battery.setpoint_w is None
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(SETPOINT).state == STATE_UNKNOWN  # type: ignore[union-attr]
    released = len(writes(sim))
    await tick(hass, freezer, 90)
    assert len(writes(sim)) == released


async def test_keepalive_outlasts_the_api_timeout(
    hass: HomeAssistant,
    sim: FemsModbusSimulator,
    entry: MockConfigEntry,
    clock: FakeClock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """With the device's 60 s apiTimeout running, the repeated write keeps it held."""
    await set_number(hass, -900)
    for _ in range(6):
        clock.advance(30)
        await tick(hass, freezer, 30)
    assert sim.timeout_expiries == 0
    assert sim.battery.setpoint_w == -900


async def test_limits_keep_their_direction(
    hass: HomeAssistant, sim: FemsModbusSimulator, entry: MockConfigEntry
) -> None:
    """The charge limit is shown positive and written negative; discharge stays positive."""
    controller = entry.runtime_data.devices[0].controller
    assert controller is not None
    await controller.async_set(SetpointKind.CHARGE_LIMIT, 1500)
    await controller.async_set(SetpointKind.DISCHARGE_LIMIT, 2000)
    assert writes(sim, "ess0/SetActivePowerGreaterOrEquals") == [-1500.0]
    assert writes(sim, "ess0/SetActivePowerLessOrEquals") == [2000.0]
    assert sim.battery.charge_limit_w == -1500
    assert sim.battery.discharge_limit_w == 2000


async def test_pro_layout_is_written_at_806(hass: HomeAssistant, clock: FakeClock) -> None:
    """On a FENECON Pro the same command lands on the discovered address."""
    from simulators.fems_modbus.table import FENECON_PRO  # noqa: PLC0415

    async with make_simulator(clock, layout=FENECON_PRO) as simulator:
        entry = await setup_entry(hass, simulator)
        simulator.stats.reset()
        await set_number(hass, 700)
        assert writes(simulator) == [700.0]
        assert simulator.battery.setpoint_w == 700
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: FemsModbusSimulator,
    entry: MockConfigEntry,
) -> None:
    """The walked table is in diagnostics; host and serial are not."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert "127.0.0.1" not in text
    assert EMS_SERIAL not in text
    assert diagnostics["client"]["read_write"] is True
    assert diagnostics["client"]["set_active_power_equals"] == 706
    assert diagnostics["data"]["soc"] == 50
