"""FlexConnect entities: values, enums, availability per battery, diagnostics, lifecycle."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.energy_flex.const import DOMAIN
from simulators.flexconnect import FlexConnectSimulator

from .conftest import SKI_A, SKI_B, entity_id, setup_entry


def state(hass: HomeAssistant, platform: str, key: str, ski: str = SKI_A) -> str:
    """One battery entity's state."""
    current = hass.states.get(entity_id(platform, key, ski))
    assert current is not None, key
    return current.state


async def refresh(entry: MockConfigEntry) -> None:
    """Poll now."""
    await entry.runtime_data.coordinator.async_refresh()


async def test_values_follow_the_battery(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """State, energy and control as the simulated batteries report them."""
    assert float(state(hass, "sensor", "state_of_charge")) == pytest.approx(50, abs=0.1)
    assert state(hass, "sensor", "state_of_health") == "98.5"
    assert float(state(hass, "sensor", "stored_energy")) == pytest.approx(5.0, abs=0.01)  # kWh
    assert state(hass, "sensor", "usable_capacity") == "10.0"
    assert state(hass, "sensor", "state_of_operation") == "normal"
    assert state(hass, "sensor", "control_state") == "auto_controlled"
    assert state(hass, "sensor", "applied_control_mode") == "auto"
    assert state(hass, "sensor", "requested_control_mode") == "auto"
    assert state(hass, "sensor", "applied_power_setpoint") == "0.0"
    assert state(hass, "sensor", "requested_power_setpoint") == "0.0"
    assert state(hass, "binary_sensor", "battery_problem") == STATE_OFF
    assert state(hass, "binary_sensor", "command_pending") == STATE_OFF
    assert state(hass, "binary_sensor", "control_active") == STATE_OFF
    assert state(hass, "select", "control_mode") == "auto"
    assert state(hass, "number", "battery_power_setpoint") == STATE_UNKNOWN
    flexconnect.battery(SKI_B).model.soc = 80
    await refresh(flexconnect_entry)
    assert float(state(hass, "sensor", "state_of_charge", SKI_B)) == pytest.approx(80, abs=0.1)
    assert float(state(hass, "sensor", "state_of_charge")) == pytest.approx(50, abs=0.1)


async def test_each_battery_is_a_device(
    hass: HomeAssistant, flexconnect_entry: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """Identified by SKI, named by its start; no "Visit" link (no web interface)."""
    for ski in (SKI_A, SKI_B):
        device = device_registry.async_get_device_by_identifier(
            (DOMAIN, ski), flexconnect_entry.entry_id
        )
        assert device is not None
        assert device.name == f"FlexConnect battery {ski[:8]}"
        assert device.serial_number == ski
        assert device.manufacturer == "FlexHome.Energy"
        assert device.model == "Battery (FlexConnect)"
        assert device.configuration_url is None


async def test_unknown_enum_values_show_unknown(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """Values outside the vendor's tables: unknown, and the rest keeps working."""
    battery = flexconnect.battery(SKI_A)
    battery.state_of_operation = 9
    battery.control_state_override = 17
    await refresh(flexconnect_entry)
    assert state(hass, "sensor", "state_of_operation") == STATE_UNKNOWN
    assert state(hass, "sensor", "control_state") == STATE_UNKNOWN
    assert state(hass, "binary_sensor", "battery_problem") == STATE_UNKNOWN
    assert float(state(hass, "sensor", "state_of_charge")) == pytest.approx(50, abs=0.1)


async def test_missing_values_are_unknown_not_zero(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """An absent message is unknown; `{}` is a proto3 zero."""
    flexconnect.answer_overrides["BatteryStateRequest"] = {
        "state": {"stateOfCharge": {}, "stateOfOperation": "STANDBY"}
    }
    await refresh(flexconnect_entry)
    assert state(hass, "sensor", "state_of_charge") == "0.0"
    assert state(hass, "sensor", "stored_energy") == STATE_UNKNOWN
    assert state(hass, "sensor", "usable_capacity") == STATE_UNKNOWN
    assert state(hass, "sensor", "state_of_operation") == "standby"


@pytest.mark.parametrize(("change", "value"), [("failsafe", True), ("state_of_operation", 5)])
async def test_problem_sensor(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    change: str,
    value: object,
) -> None:
    """Failsafe control or failed operation is a problem."""
    setattr(flexconnect.battery(SKI_A), change, value)
    await refresh(flexconnect_entry)
    assert state(hass, "binary_sensor", "battery_problem") == STATE_ON
    assert state(hass, "binary_sensor", "battery_problem", SKI_B) == STATE_OFF


async def test_one_battery_offline(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the silent battery becomes unavailable; one line when it goes, one when back."""
    flexconnect.battery(SKI_A).online = False
    for _ in range(3):
        await refresh(flexconnect_entry)
    assert state(hass, "sensor", "state_of_charge") == STATE_UNAVAILABLE
    assert state(hass, "select", "control_mode") == STATE_UNAVAILABLE
    assert state(hass, "number", "battery_power_setpoint") == STATE_UNAVAILABLE
    # Our own state stays known.
    assert state(hass, "binary_sensor", "control_active") == STATE_OFF
    assert state(hass, "sensor", "state_of_charge", SKI_B) != STATE_UNAVAILABLE
    assert caplog.text.count("Battery FlexConnect battery 90D2A30F does not answer") == 1
    flexconnect.battery(SKI_A).online = True
    await refresh(flexconnect_entry)
    assert state(hass, "sensor", "state_of_charge") != STATE_UNAVAILABLE
    assert "FlexConnect battery 90D2A30F answers again" in caplog.text


async def test_client_down_then_back(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No answer at all: every entity unavailable, one error line, then recovery."""
    flexconnect.faults.error_status = 503
    for _ in range(3):
        await refresh(flexconnect_entry)
    for ski in (SKI_A, SKI_B):
        assert state(hass, "sensor", "state_of_charge", ski) == STATE_UNAVAILABLE
    assert caplog.text.count("Error fetching") == 1
    assert "does not answer" not in caplog.text
    flexconnect.faults.reset()
    await refresh(flexconnect_entry)
    assert state(hass, "sensor", "state_of_charge") != STATE_UNAVAILABLE


async def test_garbled_answers_make_the_battery_unavailable(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """A reqId mismatch is never shown as data."""
    flexconnect.wrong_req_id = True
    await refresh(flexconnect_entry)
    assert state(hass, "sensor", "state_of_charge") == STATE_UNAVAILABLE


async def test_client_down_at_start_retries(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """Set-up waits for the client."""
    flexconnect.faults.error_status = 503
    entry = await setup_entry(hass, flexconnect)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_one_battery_offline_at_start(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """One silent battery does not hold up the others."""
    flexconnect.battery(SKI_B).online = False
    entry = await setup_entry(hass, flexconnect)
    assert entry.state is ConfigEntryState.LOADED
    assert state(hass, "sensor", "state_of_charge", SKI_B) == STATE_UNAVAILABLE
    assert state(hass, "sensor", "state_of_charge") != STATE_UNAVAILABLE
    await hass.config_entries.async_unload(entry.entry_id)


async def test_version_failure_at_start_is_tolerated(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """The version is for diagnostics only."""
    flexconnect.faults.error_status = 500
    flexconnect.faults.methods = frozenset({"GET"})
    entry = await setup_entry(hass, flexconnect)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.diagnostics()["client_version"] is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics_name_no_battery_or_address(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """SKIs and the client's URL are redacted; the last poll is there, numbered."""
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": entity_id("number", "battery_power_setpoint"), "value": 10},
        blocking=True,
    )
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(
        hass, hass_client, flexconnect_entry
    )
    text = json.dumps(diagnostics)
    for secret in (SKI_A, SKI_B, SKI_A[:8], flexconnect.url, "127.0.0.1"):
        assert secret not in text
    assert diagnostics["client"]["client_version"] == flexconnect.version
    assert diagnostics["client"]["batteries"] == 2
    assert set(diagnostics["data"]) == {"0", "1"}
    assert diagnostics["data"]["0"]["state"]["state_of_charge"] == pytest.approx(50, abs=0.1)
    assert diagnostics["client"]["pending_commands"] == 1
    assert diagnostics["client"]["poll_interval_s"] == 5
    assert diagnostics["data"]["0"]["command"]["setpoint_power"] == -10  # as sent: + charge
    assert diagnostics["control"]["0"]["active"] is True


async def test_no_identifier_in_logs_beyond_the_short_name(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Logs name a battery by the start of its SKI only."""
    caplog.set_level(logging.INFO)
    flexconnect.battery(SKI_A).online = False
    entry = await setup_entry(hass, flexconnect)
    await refresh(entry)
    assert SKI_A not in caplog.text
    await hass.config_entries.async_unload(entry.entry_id)


async def test_live_batteries_cannot_be_removed(
    hass: HomeAssistant,
    flexconnect_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Both batteries are live devices; a stale one can go."""
    assert await async_setup_component(hass, "config", {})
    live = device_registry.async_get_device_by_identifier(
        (DOMAIN, SKI_B), flexconnect_entry.entry_id
    )
    assert live is not None
    stale = device_registry.async_get_or_create(
        config_entry_id=flexconnect_entry.entry_id, identifiers={(DOMAIN, "0" * 40)}
    )
    client = await hass_ws_client(hass)
    for device, expected in ((live, False), (stale, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": flexconnect_entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is expected


async def test_diagnostic_entities_have_their_category(
    hass: HomeAssistant, flexconnect_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """What explains control is diagnostic; what the battery does is not."""
    expected = {
        ("sensor", "control_state"): EntityCategory.DIAGNOSTIC,
        ("sensor", "current_control_mode"): EntityCategory.DIAGNOSTIC,
        ("sensor", "desired_control_mode"): EntityCategory.DIAGNOSTIC,
        ("sensor", "current_power_setpoint"): EntityCategory.DIAGNOSTIC,
        ("sensor", "desired_power_setpoint"): EntityCategory.DIAGNOSTIC,
        ("binary_sensor", "command_pending"): EntityCategory.DIAGNOSTIC,
        ("binary_sensor", "command_not_applied"): EntityCategory.DIAGNOSTIC,
        ("binary_sensor", "control_active"): EntityCategory.DIAGNOSTIC,
        ("sensor", "state_of_charge"): None,
        ("sensor", "state_of_operation"): None,
        ("number", "battery_power_setpoint"): None,
    }
    for (platform, key), category in expected.items():
        found = entity_registry.async_get_entity_id(platform, DOMAIN, f"{SKI_A}_{key}")
        assert found is not None, key
        entry = entity_registry.async_get(found)
        assert entry is not None
        assert entry.entity_category == category, key
