"""FEMS cloud control: the FixActivePower controller, direction, bounds, persistence, release."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import DOMAIN
from simulators.fems.errors import authentication_failed
from simulators.fems_cloud import FIX_ACTIVE_POWER_ID, ErrorShape, FemsCloudSimulator

from .conftest import (
    ADMIN,
    EDGE_A,
    EDGE_B,
    GUEST,
    add_entry,
    entity_id,
    make_ha_cloud,
    setup_entry,
    state_of,
    tick,
)

SETPOINT = entity_id("number", "battery_power_setpoint")
RELEASE = entity_id("button", "release_control")
ACTIVE = entity_id("binary_sensor", "control_active")
BATTERY_POWER = entity_id("sensor", "battery_power")
MODE = f"{EDGE_A}/{FIX_ACTIVE_POWER_ID}/mode"
POWER = f"{EDGE_A}/{FIX_ACTIVE_POWER_ID}/power"


def writes(simulator: FemsCloudSimulator) -> list[tuple[str, Any]]:
    """Every property change the edges accepted, in order."""
    return [(record.channel, record.value) for record in simulator.writes.records]


def controller_properties(simulator: FemsCloudSimulator) -> dict[str, Any]:
    return dict(simulator.edges[EDGE_A].components[FIX_ACTIVE_POWER_ID].properties)


async def set_number(hass: HomeAssistant, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: SETPOINT, ATTR_VALUE: value},
        blocking=True,
    )


async def set_power(hass: HomeAssistant, power: float, **extra: Any) -> None:
    await hass.services.async_call(
        DOMAIN,
        "set_battery_power",
        {ATTR_ENTITY_ID: SETPOINT, "power": power, **extra},
        blocking=True,
    )


async def test_negative_setpoint_charges_positive_discharges(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """−3000 W is MANUAL_ON with power −3000: the battery charges; +2000 discharges."""
    await setup_entry(hass, ha_cloud)
    number = hass.states.get(SETPOINT)
    assert number is not None
    assert (number.attributes["min"], number.attributes["max"]) == (-5000, 5000)
    await set_number(hass, -3000)
    assert writes(ha_cloud) == [(MODE, "MANUAL_ON"), (POWER, -3000)]
    assert controller_properties(ha_cloud)["mode"] == "MANUAL_ON"
    assert ha_cloud.edges[EDGE_A].setpoint_w == -3000
    assert state_of(hass, ACTIVE) == STATE_ON
    assert state_of(hass, SETPOINT) == "-3000.0"
    await tick(hass, freezer, 60)
    assert state_of(hass, BATTERY_POWER) == "-3000.0"  # charging

    await set_number(hass, 2000)
    assert writes(ha_cloud)[-2:] == [(MODE, "MANUAL_ON"), (POWER, 2000)]
    await tick(hass, freezer, 60)
    assert state_of(hass, BATTERY_POWER) == "2000.0"  # discharging
    # The other edge was never touched.
    assert all(channel.startswith(EDGE_A) for channel, _ in writes(ha_cloud))


async def test_held_setpoint_is_not_rewritten(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """The configuration persists on the FEMS: no keep-alive, whatever time passes."""
    await setup_entry(hass, ha_cloud)
    await set_number(hass, -1500)
    for _ in range(10):
        await tick(hass, freezer, 60)
    assert ha_cloud.calls["edgeRpc/updateComponentConfig"] == 1
    assert ha_cloud.edges[EDGE_A].setpoint_w == -1500
    assert state_of(hass, ACTIVE) == STATE_ON


@pytest.mark.parametrize("value", [-5001, 5001, 1e9])
async def test_out_of_range_is_refused_and_nothing_sent(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, value: float
) -> None:
    """The ESS's AllowedCharge/DischargePower bound the setpoint; nothing is written."""
    await setup_entry(hass, ha_cloud)
    with pytest.raises(ServiceValidationError) as excinfo:
        await set_power(hass, value)
    assert excinfo.value.translation_key == "setpoint_out_of_range"
    assert writes(ha_cloud) == []
    assert ha_cloud.calls["edgeRpc/updateComponentConfig"] == 0


async def test_offline_edge_takes_no_setpoint(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """An offline edge: the number is unavailable and the action refused, nothing sent."""
    await setup_entry(hass, ha_cloud)
    ha_cloud.set_online(EDGE_A, False)
    await tick(hass, freezer, 60)
    assert state_of(hass, SETPOINT) == STATE_UNAVAILABLE
    with pytest.raises(ServiceValidationError) as excinfo:
        await set_power(hass, -1000)
    assert excinfo.value.translation_key == "edge_offline"
    assert ha_cloud.calls["edgeRpc/updateComponentConfig"] == 0


async def test_release_button_sends_manual_off(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Release hands the battery back: mode MANUAL_OFF, nothing else."""
    await setup_entry(hass, ha_cloud)
    await set_number(hass, 1000)
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: RELEASE}, blocking=True
    )
    assert writes(ha_cloud)[-1] == (MODE, "MANUAL_OFF")
    assert ha_cloud.edges[EDGE_A].setpoint_w is None
    assert state_of(hass, ACTIVE) == STATE_OFF


async def test_unloading_releases(hass: HomeAssistant, ha_cloud: FemsCloudSimulator) -> None:
    """No timeout saves the user on the FEMS: unloading the entry releases."""
    entry = await setup_entry(hass, ha_cloud)
    await set_number(hass, -2500)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert writes(ha_cloud)[-1] == (MODE, "MANUAL_OFF")
    assert ha_cloud.edges[EDGE_A].setpoint_w is None


async def test_duration_ends_with_a_release(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """The same deadline semantics as every battery: released when the duration ends."""
    await setup_entry(hass, ha_cloud)
    await set_power(hass, -2000, duration={"minutes": 30})
    assert ha_cloud.edges[EDGE_A].setpoint_w == -2000
    await tick(hass, freezer, 29 * 60)
    assert ha_cloud.edges[EDGE_A].setpoint_w == -2000
    await tick(hass, freezer, 2 * 60)
    assert writes(ha_cloud)[-1] == (MODE, "MANUAL_OFF")
    assert state_of(hass, ACTIVE) == STATE_OFF


def stored_control(entry: MockConfigEntry, value: float, until: str | None) -> dict[str, Any]:
    """What the controller of EDGE_A stores for a held battery setpoint."""
    key = f"{DOMAIN}.control.{entry.entry_id}_{EDGE_A}"
    return {
        key: {
            "version": 1,
            "minor_version": 1,
            "key": key,
            "data": {"battery_power": {"value": value, "until": until}},
        }
    }


async def test_restart_releases_an_unbounded_command(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, hass_storage: dict[str, Any]
) -> None:
    """Held without a duration when Home Assistant went down: released at start."""
    entry = add_entry(hass, ha_cloud)
    hass_storage.update(stored_control(entry, -2000, None))
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(ha_cloud) == [(MODE, "MANUAL_OFF")]
    assert state_of(hass, ACTIVE) == STATE_OFF


async def test_restart_resumes_a_bounded_command_until_its_deadline(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ha_cloud: FemsCloudSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """A deadline still ahead: written once again, released when it passes."""
    entry = add_entry(hass, ha_cloud)
    until = (dt_util.utcnow() + timedelta(minutes=10)).isoformat()
    hass_storage.update(stored_control(entry, 1500, until))
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(ha_cloud) == [(MODE, "MANUAL_ON"), (POWER, 1500)]
    await tick(hass, freezer, 11 * 60)
    assert writes(ha_cloud)[-1] == (MODE, "MANUAL_OFF")


async def test_edge_without_fix_active_power_has_no_control(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """EDGE_B has no FixActivePower controller: no control entities, the action refuses."""
    await setup_entry(hass, ha_cloud)
    assert hass.states.get(entity_id("number", "battery_power_setpoint", EDGE_B)) is None
    assert hass.states.get(entity_id("button", "release_control", EDGE_B)) is None
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            DOMAIN,
            "set_battery_power",
            {ATTR_ENTITY_ID: entity_id("sensor", "state_of_charge", EDGE_B), "power": 100},
            blocking=True,
        )
    assert excinfo.value.translation_key == "no_controllable_target"
    assert writes(ha_cloud) == []


async def test_disabled_controller_gives_no_control(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """A disabled FixActivePower would not apply a setpoint: no control is offered."""
    ha_cloud.edges[EDGE_A].components[FIX_ACTIVE_POWER_ID].properties["enabled"] = False
    await setup_entry(hass, ha_cloud)
    assert hass.states.get(SETPOINT) is None


async def test_controller_of_another_ess_has_no_known_range(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """The polled allowed power is ess0's: a controller of ess1 takes no setpoint."""
    ha_cloud.edges[EDGE_A].components[FIX_ACTIVE_POWER_ID].properties["ess.id"] = "ess1"
    await setup_entry(hass, ha_cloud)
    assert state_of(hass, SETPOINT) == STATE_UNAVAILABLE
    with pytest.raises(ServiceValidationError) as excinfo:
        await set_power(hass, 100)
    assert excinfo.value.translation_key == "setpoint_range_unknown"
    assert writes(ha_cloud) == []


@pytest.mark.parametrize("shape", list(ErrorShape))
async def test_guest_gets_a_role_error_in_every_error_shape(
    hass: HomeAssistant, shape: ErrorShape
) -> None:
    """updateComponentConfig needs OWNER: a guest's setpoint fails with a role message."""
    simulator = make_ha_cloud(error_shape=shape)
    await simulator.start()
    try:
        entry = await setup_entry(hass, simulator, (EDGE_A,), login=GUEST)
        with pytest.raises(HomeAssistantError) as excinfo:
            await set_number(hass, -1000)
        assert excinfo.value.translation_key == "role_denied"
        assert len(simulator.writes) == 0
        assert simulator.writes.rejected
        assert state_of(hass, ACTIVE) == STATE_OFF
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


async def test_unreadable_edge_config_gives_no_control(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """An edge the backend has no configuration for: polled, but not controllable."""
    entry = await setup_entry(hass, ha_cloud, (EDGE_A, "fems4242"), login=ADMIN)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(SETPOINT) is not None
    assert hass.states.get(entity_id("number", "battery_power_setpoint", "fems4242")) is None


async def test_rate_limit_while_reading_configs_retries_setup(hass: HomeAssistant) -> None:
    """The cloud refuses the configuration reads: retry later, never drop control silently."""
    simulator = make_ha_cloud(requests_per_minute=2)  # the first poll, then nothing
    await simulator.start()
    try:
        entry = await setup_entry(hass, simulator)
        assert entry.state is ConfigEntryState.SETUP_RETRY
    finally:
        await simulator.stop()


async def test_rejected_login_while_reading_configs_starts_reauth(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """The backend refuses the login for the configuration read: reauth, no half setup."""
    ha_cloud.inner_faults["getEdgeConfig"] = authentication_failed()
    entry = await setup_entry(hass, ha_cloud)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
