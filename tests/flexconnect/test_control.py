"""FlexConnect control: direction, command latency, release, the mode select, refusals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import DOMAIN
from custom_components.energy_flex.vendors.flexconnect.entities import (
    from_flexconnect_setpoint,
    to_flexconnect_setpoint,
)
from custom_components.energy_flex.vendors.flexconnect.polling import (
    FAST_INTERVAL,
    NORMAL_INTERVAL,
)
from simulators.flexconnect import FlexConnectSimulator
from simulators.flexconnect.battery import ControlMode, Instructions, ProtoJsonStyle

from .conftest import SKI_A, SKI_B, add_entry, entity_id, setup_entry

NUMBER = entity_id("number", "battery_power_setpoint")
REQUESTED = entity_id("sensor", "requested_power_setpoint")
APPLIED = entity_id("sensor", "applied_power_setpoint")
REQUESTED_MODE = entity_id("sensor", "requested_control_mode")
APPLIED_MODE = entity_id("sensor", "applied_control_mode")
PENDING = entity_id("binary_sensor", "command_pending")
NOT_APPLIED = entity_id("binary_sensor", "command_not_applied")
ACTIVE = entity_id("binary_sensor", "control_active")
SELECT = entity_id("select", "control_mode")
RELEASE = entity_id("button", "release_control")


def state(hass: HomeAssistant, entity: str) -> str:
    """An entity's state."""
    current = hass.states.get(entity)
    assert current is not None, entity
    return current.state


def sent(simulator: FlexConnectSimulator, ski: str = SKI_A) -> list[tuple[int, float]]:
    """The (mode, FlexConnect setpoint) of every modify request one battery received."""
    return [
        (record.control_mode, float(record.setpoint_w))
        for record in simulator.modifies
        if record.ski == ski
    ]


async def set_number(hass: HomeAssistant, value: float, entity: str = NUMBER) -> None:
    """Set the setpoint number as the UI does."""
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity, ATTR_VALUE: value}, blocking=True
    )


async def set_power(hass: HomeAssistant, power: float, **extra: Any) -> None:
    """`energy_flex.set_battery_power` for battery A."""
    await hass.services.async_call(
        DOMAIN,
        "set_battery_power",
        {ATTR_ENTITY_ID: NUMBER, "power": power, **extra},
        blocking=True,
    )


async def select_mode(hass: HomeAssistant, option: str) -> None:
    """Choose a control mode."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: SELECT, ATTR_OPTION: option},
        blocking=True,
    )


async def release(hass: HomeAssistant) -> None:
    """Press `release_control`."""
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: RELEASE}, blocking=True
    )


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time (simulator included) and run what became due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def test_sign_conversion_pinned() -> None:
    """+ discharge in Home Assistant is − at FlexConnect, and back; never a −0."""
    assert to_flexconnect_setpoint(3000) == -3000
    assert to_flexconnect_setpoint(-2000) == 2000
    assert from_flexconnect_setpoint(1500) == -1500
    assert from_flexconnect_setpoint(-700) == 700
    assert from_flexconnect_setpoint(None) is None
    assert str(to_flexconnect_setpoint(0.0)) == "0.0"
    assert str(from_flexconnect_setpoint(0.0)) == "0.0"


async def test_positive_setpoint_discharges_after_the_latency(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """+3000 W goes out as −3000 (FlexConnect: discharge); shown requested, then applied."""
    await set_number(hass, 3000)
    assert sent(flexconnect) == [(ControlMode.POWER, -3000)]
    # The number and the requested sensor show the request; nothing is applied yet.
    assert state(hass, NUMBER) == "3000.0"
    assert state(hass, REQUESTED) == "3000.0"
    assert state(hass, REQUESTED_MODE) == "power"
    assert state(hass, SELECT) == "power"
    assert state(hass, APPLIED) == "0.0"
    assert state(hass, APPLIED_MODE) == "auto"
    assert state(hass, PENDING) == STATE_ON
    assert state(hass, ACTIVE) == STATE_ON
    assert flexconnect.battery(SKI_A).model.setpoint_w is None

    await tick(hass, freezer, 25)
    assert state(hass, APPLIED) == "0.0"
    assert state(hass, PENDING) == STATE_ON
    await tick(hass, freezer, 5)
    assert state(hass, APPLIED) == "3000.0"
    assert state(hass, APPLIED_MODE) == "power"
    assert state(hass, PENDING) == STATE_OFF
    # The simulated battery now discharges at 3 kW (its model: + discharge).
    assert flexconnect.battery(SKI_A).model.battery_power_w == 3000
    # The other battery was not touched.
    assert sent(flexconnect, SKI_B) == []
    assert state(hass, entity_id("binary_sensor", "command_pending", SKI_B)) == STATE_OFF


async def test_negative_setpoint_charges(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """−2000 W (the action) goes out as +2000 (FlexConnect: charge) and charges."""
    await set_power(hass, -2000.4)
    assert sent(flexconnect) == [(ControlMode.POWER, 2000)]  # whole watts
    await tick(hass, freezer, 30)
    assert state(hass, APPLIED) == "-2000.0"
    assert flexconnect.battery(SKI_A).model.battery_power_w == -2000


async def test_polls_fast_only_while_a_command_travels(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """5 s polls from the command until it applies, then back to 30 s."""
    coordinator = flexconnect_entry.runtime_data.coordinator
    assert coordinator.update_interval == NORMAL_INTERVAL
    await set_number(hass, 1000)
    assert coordinator.update_interval == FAST_INTERVAL
    before = flexconnect.calls["BatteryControlRequest"]
    await tick(hass, freezer, 5)
    await tick(hass, freezer, 5)
    assert flexconnect.calls["BatteryControlRequest"] == before + 2 * 2  # two batteries
    await tick(hass, freezer, 20)
    assert state(hass, PENDING) == STATE_OFF
    assert coordinator.update_interval == NORMAL_INTERVAL
    settled = flexconnect.calls["BatteryControlRequest"]
    await tick(hass, freezer, 5)
    await tick(hass, freezer, 5)
    assert flexconnect.calls["BatteryControlRequest"] == settled


async def test_late_command_is_shown_on_the_battery_then_cleared(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No match after 90 s: the battery's problem sensor, normal polling, still pending.

    Nothing the user could repair, so no repair issue: the device page shows it.
    """
    flexconnect.command_latency_s = (200, 200)
    coordinator = flexconnect_entry.runtime_data.coordinator
    await set_number(hass, 500)
    for _ in range(17):
        await tick(hass, freezer, 5)
    assert state(hass, NOT_APPLIED) == STATE_OFF
    await tick(hass, freezer, 5)
    assert state(hass, NOT_APPLIED) == STATE_ON
    assert state(hass, entity_id("binary_sensor", "command_not_applied", SKI_B)) == STATE_OFF
    problem = hass.states.get(NOT_APPLIED)
    assert problem is not None
    assert problem.attributes["device_class"] == "problem"
    assert caplog.text.count("has not applied the command") == 1
    assert coordinator.update_interval == NORMAL_INTERVAL
    assert state(hass, PENDING) == STATE_ON
    assert state(hass, REQUESTED) == "500.0"
    assert state(hass, APPLIED) == "0.0"
    assert len(issue_registry.issues) == 0
    for _ in range(4):
        await tick(hass, freezer, 30)
    assert state(hass, PENDING) == STATE_OFF
    assert state(hass, APPLIED) == "500.0"
    assert state(hass, NOT_APPLIED) == STATE_OFF
    assert "applied the late command" in caplog.text


async def test_new_command_replaces_a_late_one(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """A newer command clears the late one's problem and polls fast again."""
    flexconnect.command_latency_s = (200, 200)
    await set_number(hass, 500)
    for _ in range(19):
        await tick(hass, freezer, 5)
    assert state(hass, NOT_APPLIED) == STATE_ON
    flexconnect.command_latency_s = (10, 10)
    await set_number(hass, 600)
    assert state(hass, NOT_APPLIED) == STATE_OFF
    assert flexconnect_entry.runtime_data.coordinator.update_interval == FAST_INTERVAL
    await tick(hass, freezer, 10)
    assert state(hass, APPLIED) == "600.0"
    assert state(hass, PENDING) == STATE_OFF


async def test_late_command_forgotten_on_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """A reloaded entry starts without the old entry's late commands."""
    flexconnect.command_latency_s = (500, 500)
    await set_number(hass, 500)
    for _ in range(19):
        await tick(hass, freezer, 5)
    assert state(hass, NOT_APPLIED) == STATE_ON
    assert await hass.config_entries.async_reload(flexconnect_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, NOT_APPLIED) == STATE_OFF


async def test_command_to_an_offline_battery_times_out(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """The battery drops off after accepting a command: late, and shown once it is back."""
    flexconnect.command_latency_s = (500, 500)
    await set_number(hass, 500)
    flexconnect.battery(SKI_A).online = False
    for _ in range(18):
        await tick(hass, freezer, 5)
    assert state(hass, PENDING) == STATE_UNAVAILABLE
    assert state(hass, NOT_APPLIED) == STATE_UNAVAILABLE
    assert flexconnect_entry.runtime_data.coordinator.data.get(SKI_A) is None
    flexconnect.battery(SKI_A).online = True
    await tick(hass, freezer, 30)
    # The battery answers again; our command (still not applied) is shown as late.
    assert state(hass, PENDING) == STATE_ON
    assert state(hass, NOT_APPLIED) == STATE_ON


async def test_release_returns_to_the_mode_found_before(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """The battery ran AUTO; release sends AUTO with setpoint 0."""
    await set_number(hass, 1000)
    await tick(hass, freezer, 30)
    await release(hass)
    assert sent(flexconnect) == [(ControlMode.POWER, -1000), (ControlMode.AUTO, 0)]
    assert state(hass, ACTIVE) == STATE_OFF
    assert state(hass, NUMBER) == STATE_UNKNOWN
    assert state(hass, REQUESTED_MODE) == "auto"
    assert state(hass, APPLIED_MODE) == "power"  # until the battery applies it
    await tick(hass, freezer, 30)
    assert state(hass, APPLIED_MODE) == "auto"
    # Released: pressing again hands nothing over.
    await release(hass)
    assert len(sent(flexconnect)) == 2


async def test_release_returns_to_pcc(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flexconnect: FlexConnectSimulator
) -> None:
    """Whatever mode the battery ran in is the one it gets back."""
    battery = flexconnect.battery(SKI_A)
    battery.current = Instructions(ControlMode.PCC, battery.current.setpoint_w, 0)
    await setup_entry(hass, flexconnect)
    await set_number(hass, -800)
    await release(hass)
    assert sent(flexconnect) == [(ControlMode.POWER, 800), (ControlMode.PCC, 0)]


async def test_unknown_mode_before_falls_back_to_auto(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A battery that does not say its mode is handed back to AUTO."""
    flexconnect.answer_overrides["BatteryControlRequest"] = {
        "currentControlInstructions": {},
        "desiredControlInstructions": {},
    }
    await setup_entry(hass, flexconnect)
    await set_number(hass, 100)
    await release(hass)
    assert sent(flexconnect) == [(ControlMode.POWER, -100), (ControlMode.AUTO, 0)]
    assert "release will select AUTO" in caplog.text


async def test_mode_before_survives_a_restart(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, hass_storage: dict[str, Any]
) -> None:
    """A crash while in control: at the next start the command ends, back to PCC."""
    entry = add_entry(hass, flexconnect)
    key = f"{entry.entry_id}_{SKI_A}"
    hass_storage[f"{DOMAIN}.control.{key}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.control.{key}",
        "data": {"battery_power": {"value": 1000, "until": None}},
    }
    hass_storage[f"{DOMAIN}.flexconnect_release.{key}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.flexconnect_release.{key}",
        "data": {"mode_before": 2},
    }
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert sent(flexconnect) == [(ControlMode.PCC, 0)]
    assert state(hass, ACTIVE) == STATE_OFF


async def test_remembered_mode_is_stored_before_the_command(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Taking control writes the way back to storage; release clears it."""
    key = f"{DOMAIN}.flexconnect_release.{flexconnect_entry.entry_id}_{SKI_A}"
    await set_number(hass, 100)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"] == {"mode_before": ControlMode.AUTO}
    await release(hass)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"] == {"mode_before": None}


async def test_bounded_command_resumes_after_restart(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, hass_storage: dict[str, Any]
) -> None:
    """A command with a deadline ahead is sent again at start and still ends."""
    entry = add_entry(hass, flexconnect)
    key = f"{entry.entry_id}_{SKI_A}"
    until = (dt_util.utcnow() + timedelta(minutes=5)).isoformat()
    hass_storage[f"{DOMAIN}.control.{key}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.control.{key}",
        "data": {"battery_power": {"value": -1500, "until": until}},
    }
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert sent(flexconnect) == [(ControlMode.POWER, 1500)]
    assert state(hass, ACTIVE) == STATE_ON


async def test_garbage_in_release_storage_is_ignored(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, hass_storage: dict[str, Any]
) -> None:
    """An unknown stored mode is forgotten; the next command remembers afresh."""
    entry = add_entry(hass, flexconnect)
    key = f"{DOMAIN}.flexconnect_release.{entry.entry_id}_{SKI_A}"
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": {"mode_before": 9}}
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await release(hass)
    assert sent(flexconnect) == []


async def test_unload_hands_control_back(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """Removing or reloading the entry releases what it held."""
    await set_number(hass, 2000)
    await hass.config_entries.async_unload(flexconnect_entry.entry_id)
    assert sent(flexconnect) == [(ControlMode.POWER, -2000), (ControlMode.AUTO, 0)]


async def test_select_power_takes_control_at_zero(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """POWER from the select: Home Assistant holds 0 W until a setpoint is set."""
    await select_mode(hass, "power")
    assert sent(flexconnect) == [(ControlMode.POWER, 0)]
    assert state(hass, ACTIVE) == STATE_ON
    assert state(hass, NUMBER) == "0.0"
    assert state(hass, SELECT) == "power"
    # Choosing it again keeps what is held and sends nothing.
    await set_number(hass, 700)
    await select_mode(hass, "power")
    assert sent(flexconnect) == [(ControlMode.POWER, 0), (ControlMode.POWER, -700)]


@pytest.mark.parametrize(("option", "mode"), [("pcc", ControlMode.PCC), ("auto", ControlMode.AUTO)])
async def test_select_hands_over_to_the_chosen_mode(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    option: str,
    mode: ControlMode,
) -> None:
    """PCC or AUTO from the select releases control into that mode (setpoint 0)."""
    await set_number(hass, 1200)
    await select_mode(hass, option)
    assert sent(flexconnect) == [(ControlMode.POWER, -1200), (mode, 0)]
    assert state(hass, ACTIVE) == STATE_OFF
    assert state(hass, SELECT) == option
    await release(hass)  # nothing held, nothing remembered: nothing to hand back
    assert len(sent(flexconnect)) == 2


async def test_select_without_control(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """Choosing PCC while Home Assistant holds nothing just sets the mode."""
    await select_mode(hass, "pcc")
    assert sent(flexconnect) == [(ControlMode.PCC, 0)]
    assert state(hass, ACTIVE) == STATE_OFF


@pytest.mark.parametrize("power", [5001, -5001, float("nan")])
async def test_out_of_range_refused_and_nothing_sent(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    power: float,
) -> None:
    """Beyond the options' bounds (default 5 kW): a translated error, no request."""
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, power)
    assert err.value.translation_key in ("setpoint_out_of_range", "setpoint_not_a_number")
    assert flexconnect.modifies == []
    assert state(hass, ACTIVE) == STATE_OFF


@pytest.mark.parametrize(
    ("change", "value"),
    [("failsafe", True), ("state_of_operation", 4), ("state_of_operation", 5)],
)
async def test_battery_that_takes_no_commands(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    change: str,
    value: object,
) -> None:
    """Failsafe, off or failure: control unavailable, commands refused unsent."""
    setattr(flexconnect.battery(SKI_A), change, value)
    await flexconnect_entry.runtime_data.coordinator.async_refresh()
    assert state(hass, NUMBER) == STATE_UNAVAILABLE
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, 100)
    assert err.value.translation_key == "battery_not_controllable"
    with pytest.raises(ServiceValidationError):
        await select_mode(hass, "power")
    assert flexconnect.modifies == []


async def test_offline_battery_refuses_commands(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """A battery that does not answer takes no command; the other one still does."""
    flexconnect.battery(SKI_A).online = False
    await flexconnect_entry.runtime_data.coordinator.async_refresh()
    controller = flexconnect_entry.runtime_data.devices[0].controller
    assert controller is not None
    from custom_components.energy_flex.const import SetpointKind  # noqa: PLC0415

    with pytest.raises(ServiceValidationError) as err:
        await controller.async_set(SetpointKind.BATTERY_POWER, 100)
    assert err.value.translation_key == "battery_unavailable"
    await set_number(hass, 100, entity_id("number", "battery_power_setpoint", SKI_B))
    assert sent(flexconnect, SKI_B) == [(ControlMode.POWER, -100)]
    assert sent(flexconnect) == []


async def test_rejected_command_is_not_shown_as_requested(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """A modify request that fails: a translated error, nothing held, nothing pending."""
    flexconnect.faults.error_status = 503
    flexconnect.faults.methods = frozenset({"POST"})
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, 500)
    assert err.value.translation_key == "cannot_connect"
    flexconnect.faults.reset()
    await flexconnect_entry.runtime_data.coordinator.async_refresh()
    assert state(hass, ACTIVE) == STATE_OFF
    assert state(hass, NUMBER) == STATE_UNKNOWN
    assert state(hass, PENDING) == STATE_OFF
    assert flexconnect.modifies == []


async def test_answer_to_another_request_is_an_invalid_response(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """A modify answer with a wrong reqId is not taken as success."""
    flexconnect.wrong_req_id = True
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, 500)
    assert err.value.translation_key == "invalid_response"
    assert state(hass, ACTIVE) == STATE_OFF


async def test_burst_collapses_to_the_last_value(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """Quick changes end on the last value with fewer requests than changes."""
    flexconnect.faults.latency_s = 0.05
    flexconnect.faults.methods = frozenset({"POST"})
    controller = flexconnect_entry.runtime_data.devices[0].controller
    assert controller is not None
    from custom_components.energy_flex.const import SetpointKind  # noqa: PLC0415

    values = [100, 200, 300, 400, 500]
    await asyncio.gather(*(controller.async_set(SetpointKind.BATTERY_POWER, v) for v in values))
    requests = sent(flexconnect)
    assert requests[-1] == (ControlMode.POWER, -500)
    assert len(requests) < len(values)


async def test_command_to_a_battery_missing_from_the_last_poll(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, flexconnect_entry: MockConfigEntry
) -> None:
    """A battery that dropped out of the last poll still gets its release tracked."""
    number_b = entity_id("number", "battery_power_setpoint", SKI_B)
    await set_number(hass, 300, number_b)
    coordinator = flexconnect_entry.runtime_data.coordinator
    coordinator.data = {SKI_A: coordinator.data[SKI_A]}
    # The button is unavailable now; the release on unload or at a deadline is not.
    controller = flexconnect_entry.runtime_data.devices[1].controller
    assert controller is not None
    await controller.async_release()
    assert sent(flexconnect, SKI_B) == [(ControlMode.POWER, -300), (ControlMode.AUTO, 0)]
    assert state(hass, entity_id("binary_sensor", "command_pending", SKI_B)) == STATE_ON


@pytest.mark.parametrize("side", ["current", "desired"])
async def test_omitted_zero_setpoint_leaves_no_command_pending(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    issue_registry: ir.IssueRegistry,
    side: str,
) -> None:
    """ProtoJSON leaves a zero setpoint out: AUTO without `setpointPower` on one side and
    AUTO with `{}` on the other are the same command. Nothing is pending at start, the
    release to AUTO settles, and no "not applied" repair follows."""
    flexconnect.style = ProtoJsonStyle(unset_zero_setpoint=frozenset({side}))
    entry = await setup_entry(hass, flexconnect)
    issue_id = f"command_not_applied_{entry.entry_id}_{SKI_A}"
    assert state(hass, PENDING) == STATE_OFF
    await set_number(hass, 1000)
    assert sent(flexconnect) == [(ControlMode.POWER, -1000)]  # FlexConnect: − discharges
    await tick(hass, freezer, 30)
    assert state(hass, PENDING) == STATE_OFF
    assert flexconnect.battery(SKI_A).model.battery_power_w == 1000  # discharging
    await release(hass)
    assert sent(flexconnect)[-1] == (ControlMode.AUTO, 0)
    assert state(hass, PENDING) == STATE_ON  # until the battery applies it
    await tick(hass, freezer, 30)
    assert state(hass, APPLIED_MODE) == "auto"
    assert state(hass, PENDING) == STATE_OFF
    for _ in range(24):  # well past the 90 s after which a command counts as late
        await tick(hass, freezer, 5)
    assert state(hass, PENDING) == STATE_OFF
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert entry.runtime_data.coordinator.update_interval == NORMAL_INTERVAL
    await hass.config_entries.async_unload(entry.entry_id)


async def test_failed_release_goes_out_once_the_battery_answers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
) -> None:
    """A release that does not reach an offline battery waits for that battery (not the
    other one) to answer a poll; then the hand-back to AUTO goes out, never the old
    discharge setpoint."""
    await set_number(hass, 1000)
    await tick(hass, freezer, 30)
    assert flexconnect.battery(SKI_A).model.battery_power_w == 1000
    flexconnect.battery(SKI_A).online = False
    with pytest.raises(HomeAssistantError) as err:
        await release(hass)
    assert err.value.translation_key == "cannot_connect"
    assert state(hass, ACTIVE) == STATE_ON
    tried = flexconnect.calls["BatteryControlModifyRequest"]
    await tick(hass, freezer, 30)  # battery B answers the poll, A does not
    assert flexconnect.calls["BatteryControlModifyRequest"] == tried  # not even tried
    assert sent(flexconnect) == [(ControlMode.POWER, -1000)]
    assert state(hass, ACTIVE) == STATE_ON
    flexconnect.battery(SKI_A).online = True
    await tick(hass, freezer, 30)
    assert sent(flexconnect) == [(ControlMode.POWER, -1000), (ControlMode.AUTO, 0)]
    assert state(hass, ACTIVE) == STATE_OFF
    await tick(hass, freezer, 30)
    assert state(hass, APPLIED_MODE) == "auto"
    assert flexconnect.battery(SKI_A).model.setpoint_w is None
