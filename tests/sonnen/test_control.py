"""Control of a sonnenBatterie: direction, manual mode taken and handed back exactly,
durations across restarts, refusals that send nothing, and device errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    EVENT_HOMEASSISTANT_STOP,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import DOMAIN
from simulators.sonnen import SonnenSimulator

from .conftest import (
    FakeClock,
    entity_id,
    make_sonnen,
    setpoints,
    setup_sonnen_entry,
    sonnen_entry,
    state,
)

MODE_1 = ("EM_OperatingMode", 1)


async def set_number(hass: HomeAssistant, value: float) -> None:
    """Set the battery power setpoint the way the UI does."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id(hass, "number", "battery_power_setpoint"), ATTR_VALUE: value},
        blocking=True,
    )


async def set_power(hass: HomeAssistant, power: float, **extra: Any) -> None:
    """`energy_flex.set_battery_power` on the unit."""
    await hass.services.async_call(
        DOMAIN,
        "set_battery_power",
        {
            ATTR_ENTITY_ID: entity_id(hass, "number", "battery_power_setpoint"),
            "power": power,
            **extra,
        },
        blocking=True,
    )


async def release(hass: HomeAssistant) -> None:
    """Press the release button."""
    await hass.services.async_call(
        BUTTON_DOMAIN,
        SERVICE_PRESS,
        {ATTR_ENTITY_ID: entity_id(hass, "button", "release_control")},
        blocking=True,
    )


def active(hass: HomeAssistant) -> str:
    """State of `control_active`."""
    return state(hass, "control_active", "binary_sensor")


def mode_key(entry: MockConfigEntry) -> str:
    """Where the mode found at take-over is stored."""
    return f"{DOMAIN}.sonnen_mode.{entry.entry_id}"


def stored(key: str, data: Any) -> dict[str, Any]:
    """A storage file as Home Assistant writes it."""
    return {key: {"version": 1, "minor_version": 1, "key": key, "data": data}}


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move Home Assistant's time and run what became due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


# --- direction and mode --------------------------------------------------------------------


async def test_positive_setpoint_discharges_in_manual_mode(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """+3000 W: manual mode, charge 0, then discharge 3000 (in that order)."""
    await set_number(hass, 3000)
    assert setpoints(sonnen) == [MODE_1, ("setpoint/charge", 0), ("setpoint/discharge", 3000)]
    assert sonnen.battery.setpoint_w == 3000
    assert hass_storage[mode_key(sonnen_entry_loaded)]["data"] == {"found_mode": 2}
    assert float(state(hass, "battery_power")) == 3000  # refreshed after the write
    assert state(hass, "operating_mode") == "manual"
    assert active(hass) == STATE_ON


async def test_negative_setpoint_charges(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """−2500 W: manual mode, discharge 0, then charge 2500."""
    await set_power(hass, -2500)
    assert setpoints(sonnen) == [MODE_1, ("setpoint/discharge", 0), ("setpoint/charge", 2500)]
    assert sonnen.battery.setpoint_w == -2500
    assert float(state(hass, "battery_power")) == -2500


async def test_zero_holds_the_battery_idle(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """0 W: manual mode with both directions 0, so no remembered command acts."""
    sonnen.device.charge_w = 1800  # left behind by some earlier client
    await set_number(hass, 0)
    assert setpoints(sonnen) == [MODE_1, ("setpoint/discharge", 0), ("setpoint/charge", 0)]
    assert sonnen.battery.setpoint_w == 0


async def test_changing_direction_zeroes_the_other_first(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """Discharge → charge: the unit is already manual; discharge 0 comes before charge."""
    await set_number(hass, 1000)
    sonnen.writes.clear()
    await set_number(hass, -700)
    assert setpoints(sonnen) == [("setpoint/discharge", 0), ("setpoint/charge", 700)]
    assert sonnen.battery.setpoint_w == -700


async def test_manual_mode_keeps_the_setpoint_beyond_20_s(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    clock: FakeClock,
) -> None:
    """In automatic mode the unit would override the setpoint after ~20 s; not in manual."""
    await set_number(hass, 2000)
    clock.advance(600)
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "battery_power")) == 2000
    assert sonnen.device.overrides_by_manager == 0


async def test_release_restores_the_mode_found(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Release: discharge 0, charge 0, then the mode found (2); self-consumption again."""
    await set_number(hass, 1500)
    sonnen.writes.clear()
    await release(hass)
    assert setpoints(sonnen) == [
        ("setpoint/discharge", 0),
        ("setpoint/charge", 0),
        ("EM_OperatingMode", 2),
    ]
    assert sonnen.device.configuration["EM_OperatingMode"] == "2"
    assert sonnen.battery.setpoint_w is None
    assert hass_storage[mode_key(sonnen_entry_loaded)]["data"] == {"found_mode": None}
    assert active(hass) == STATE_OFF
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    assert state(hass, "operating_mode") == "automatic"


@pytest.mark.parametrize(("profile", "mode"), [("eu_current", 10), ("eu_current", 11), ("us", 8)])
async def test_every_user_mode_is_restored_exactly(
    hass: HomeAssistant, clock: FakeClock, profile: str, mode: int
) -> None:
    """Time-of-use, optimisation, US self-consumption: handed back as found."""
    async with make_sonnen(profile, clock=clock) as simulator:
        simulator.device.operating_mode = mode
        identity = {"eu_current": "330123", "us": "US81234"}[profile]
        await setup_sonnen_entry(hass, simulator, unique_id=identity)
        await hass.services.async_call(
            DOMAIN,
            "set_battery_power",
            {
                ATTR_ENTITY_ID: entity_id(hass, "number", "battery_power_setpoint", identity),
                "power": -1000,
            },
            blocking=True,
        )
        assert simulator.device.operating_mode == 1
        await hass.services.async_call(
            DOMAIN,
            "release_control",
            {ATTR_ENTITY_ID: entity_id(hass, "number", "battery_power_setpoint", identity)},
            blocking=True,
        )
        assert simulator.device.operating_mode == mode
        assert setpoints(simulator)[-1] == ("EM_OperatingMode", mode)
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)


async def test_unit_already_manual_stays_manual(
    hass: HomeAssistant, sonnen: SonnenSimulator
) -> None:
    """A unit the user keeps in manual mode is not switched, and not switched back."""
    sonnen.device.operating_mode = 1
    await setup_sonnen_entry(hass, sonnen)
    await set_number(hass, 500)
    await release(hass)
    assert setpoints(sonnen) == [
        ("setpoint/charge", 0),
        ("setpoint/discharge", 500),
        ("setpoint/discharge", 0),
        ("setpoint/charge", 0),
    ]
    assert sonnen.device.operating_mode == 1


async def test_mode_read_from_configuration_when_status_lacks_it(
    hass: HomeAssistant, clock: FakeClock
) -> None:
    """TN007-style status without `OperatingMode`: the mode comes from the configuration."""
    async with make_sonnen("tn007", clock=clock) as simulator:
        identity = f"127.0.0.1:{simulator.port}"
        await setup_sonnen_entry(hass, simulator, unique_id=identity)
        number = entity_id(hass, "number", "battery_power_setpoint", identity)
        await hass.services.async_call(
            DOMAIN, "set_battery_power", {ATTR_ENTITY_ID: number, "power": 800}, blocking=True
        )
        await hass.services.async_call(
            DOMAIN, "release_control", {ATTR_ENTITY_ID: number}, blocking=True
        )
        assert setpoints(simulator)[0] == MODE_1
        assert setpoints(simulator)[-1] == ("EM_OperatingMode", 2)
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)


# --- refusals: nothing sent ------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [{"SystemStatus": "OffGrid"}, {"Uac": 0}])
async def test_off_grid_refuses_and_sends_nothing(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    overrides: dict[str, Any],
) -> None:
    """Off grid (or no AC voltage): a translated refusal, the number unavailable."""
    sonnen.overrides.update(overrides)
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    assert state(hass, "battery_power_setpoint", "number") == STATE_UNAVAILABLE
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, -1000)
    assert err.value.translation_key == "sonnen_off_grid"
    assert setpoints(sonnen) == []
    assert sonnen.device.operating_mode == 2


@pytest.mark.parametrize("power", [4601, -4601, float("nan")])
async def test_beyond_the_inverter_maximum_is_refused(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    power: float,
) -> None:
    """IC_InverterMaxPower_w (4600 W) bounds both directions; nothing is sent beyond it."""
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, power)
    assert err.value.translation_key in ("setpoint_out_of_range", "setpoint_not_a_number")
    assert setpoints(sonnen) == []
    assert active(hass) == STATE_OFF


async def test_discharge_not_allowed_leaves_only_charging(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """`dischargeNotAllowed` makes the upper bound 0 W."""
    sonnen.overrides["dischargeNotAllowed"] = True
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, 100)
    assert err.value.translation_placeholders == {"value": "100", "min": "-4600", "max": "0"}
    await set_power(hass, -100)
    assert sonnen.battery.setpoint_w == -100


async def test_option_bounds_a_unit_that_reports_no_maximum(
    hass: HomeAssistant, sonnen: SonnenSimulator
) -> None:
    """Without IC_InverterMaxPower_w there is no range until the option gives one."""
    del sonnen.device.configuration["IC_InverterMaxPower_w"]
    entry = await setup_sonnen_entry(hass, sonnen)
    assert state(hass, "battery_power_setpoint", "number") == STATE_UNAVAILABLE
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, 100)
    assert err.value.translation_key == "setpoint_range_unknown"
    assert setpoints(sonnen) == []
    hass.config_entries.async_update_entry(entry, options={"inverter_max_power": 3000})
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError):
        await set_power(hass, 3001)
    await set_power(hass, 3000)
    assert sonnen.battery.setpoint_w == 3000


async def test_option_caps_the_reported_maximum(
    hass: HomeAssistant, sonnen: SonnenSimulator
) -> None:
    """An option below the inverter's maximum lowers the bound."""
    await setup_sonnen_entry(hass, sonnen, options={"inverter_max_power": 2000})
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, -2500)
    assert err.value.translation_placeholders == {"value": "-2500", "min": "-2000", "max": "2000"}
    assert setpoints(sonnen) == []


@pytest.mark.parametrize("profile", ["eu_current", "tn007"])
async def test_no_mode_switch_offered_refuses_with_a_repair(
    hass: HomeAssistant,
    clock: FakeClock,
    issue_registry: ir.IssueRegistry,
    hass_storage: dict[str, Any],
    profile: str,
) -> None:
    """Firmware without `/api/setting`: the setpoint would be overridden, so none is sent."""
    async with make_sonnen(profile, clock=clock, settings_api=False) as simulator:
        identity = f"127.0.0.1:{simulator.port}"
        # No configuration endpoint, so no reported maximum either: the option gives it.
        entry = await setup_sonnen_entry(
            hass, simulator, unique_id=identity, options={"inverter_max_power": 2500}
        )
        number = entity_id(hass, "number", "battery_power_setpoint", identity)
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                DOMAIN, "set_battery_power", {ATTR_ENTITY_ID: number, "power": 1000}, blocking=True
            )
        assert err.value.translation_key == "write_manual_mode_unavailable"
        assert setpoints(simulator) == []
        issue = issue_registry.async_get_issue(DOMAIN, f"write_rejected_{entry.entry_id}")
        assert issue is not None
        assert issue.translation_key == "write_manual_mode_unavailable"
        assert hass_storage.get(mode_key(entry), {}).get("data", {}).get("found_mode") is None
        # Switched to manual in the sonnen dashboard, a unit that reports its mode takes
        # commands; one that does not (TN007 keys only) still cannot be handed back safely.
        simulator.device.operating_mode = 1
        await entry.runtime_data.coordinator.async_refresh()
        if profile == "tn007":
            with pytest.raises(HomeAssistantError):
                await hass.services.async_call(
                    DOMAIN,
                    "set_battery_power",
                    {ATTR_ENTITY_ID: number, "power": 1000},
                    blocking=True,
                )
            assert setpoints(simulator) == []
        else:
            await hass.services.async_call(
                DOMAIN,
                "set_battery_power",
                {ATTR_ENTITY_ID: number, "power": 1000},
                blocking=True,
            )
            assert simulator.battery.setpoint_w == 1000
            issue_id = f"write_rejected_{entry.entry_id}"
            assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
        await hass.config_entries.async_unload(entry.entry_id)


# --- device errors -----------------------------------------------------------------------------


async def test_failed_setpoint_hands_the_mode_back(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """Manual mode switched on but the setpoint refused: the unit goes back to mode 2."""
    sonnen.return_codes["setpoint"] = 13
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, 1000)
    assert err.value.translation_key == "sonnen_internal_error"
    assert err.value.translation_placeholders == {"code": "13"}
    assert sonnen.device.operating_mode == 2
    assert setpoints(sonnen) == [MODE_1, ("EM_OperatingMode", 2)]
    assert active(hass) == STATE_OFF


async def test_failed_change_while_holding_keeps_manual_mode(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """A refused change of a held command leaves the unit in control, mode remembered."""
    await set_number(hass, 1000)
    sonnen.return_codes["setpoint"] = 13
    with pytest.raises(HomeAssistantError):
        await set_number(hass, -1000)
    assert sonnen.device.operating_mode == 1
    assert active(hass) == STATE_ON
    sonnen.return_codes.clear()
    await release(hass)
    assert sonnen.device.operating_mode == 2


async def test_mode_changed_on_the_unit_while_holding(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """Someone switched the unit to time-of-use: the next command takes manual mode again,
    and release still restores the mode found when control was first taken."""
    await set_number(hass, 1000)
    sonnen.device.operating_mode = 10
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    sonnen.writes.clear()
    await set_number(hass, 1200)
    assert setpoints(sonnen)[0] == MODE_1
    sonnen.device.operating_mode = 10
    sonnen.settings_api = False
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, 1400)
    assert err.value.translation_key == "write_manual_mode_unavailable"
    sonnen.settings_api = True
    await release(hass)
    assert sonnen.device.operating_mode == 2


async def test_vpp_priority(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """While the sonnen VPP has priority the command fails with that reason."""
    sonnen.vpp_priority = True
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, -1000)
    assert err.value.translation_key == "sonnen_vpp_priority"
    assert sonnen.device.operating_mode == 2


async def test_failed_release_is_finished_when_the_unit_answers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Charging 2000 W; the release does not reach the unit: an error, control still shown,
    and once the unit answers a poll the release goes out, never the charge again."""
    await set_number(hass, -2000)
    assert sonnen.battery.setpoint_w == -2000
    sonnen.writes.clear()
    sonnen.faults.drop_connection = True
    with pytest.raises(HomeAssistantError) as err:
        await release(hass)
    assert err.value.translation_key == "cannot_connect"
    assert active(hass) == STATE_ON
    control = hass_storage[f"{DOMAIN}.control.{sonnen_entry_loaded.entry_id}"]["data"]
    assert control["battery_power"]["releasing"] is True
    await tick(hass, freezer, 10)  # the unit is still down: nothing reaches it
    assert setpoints(sonnen) == []
    sonnen.faults.reset()
    await tick(hass, freezer, 10)  # the first poll it answers finishes the release
    assert setpoints(sonnen) == [
        ("setpoint/discharge", 0),
        ("setpoint/charge", 0),
        ("EM_OperatingMode", 2),
    ]
    assert sonnen.battery.setpoint_w is None
    assert active(hass) == STATE_OFF
    assert hass_storage[mode_key(sonnen_entry_loaded)]["data"] == {"found_mode": None}
    await tick(hass, freezer, 60)
    assert len(setpoints(sonnen)) == 3  # done: nothing more is sent


async def test_takeover_while_the_unit_is_down_records_nothing(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The switch to manual does not reach the unit: the command fails and no mode is
    recorded, so neither a reload nor a shutdown "restores" mode 2 over what the owner
    chose since. The next takeover records the owner's mode and charges."""
    sonnen.faults.drop_connection = True
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, -2000)
    assert err.value.translation_key == "cannot_connect"
    assert active(hass) == STATE_OFF
    assert hass_storage.get(mode_key(sonnen_entry_loaded), {}).get("data") in (
        None,
        {"found_mode": None},
    )
    sonnen.faults.reset()
    sonnen.device.operating_mode = 10  # the owner picks time-of-use in the sonnen app
    await hass.config_entries.async_reload(sonnen_entry_loaded.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert setpoints(sonnen) == []
    assert sonnen.device.operating_mode == 10
    await set_number(hass, -2000)
    assert setpoints(sonnen) == [MODE_1, ("setpoint/discharge", 0), ("setpoint/charge", 2000)]
    assert sonnen.battery.setpoint_w == -2000
    assert hass_storage[mode_key(sonnen_entry_loaded)]["data"] == {"found_mode": 10}
    await release(hass)
    assert sonnen.device.operating_mode == 10


async def test_unit_down_right_after_the_mode_switch(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Manual mode taken, then the unit goes down before the setpoints: Energy Flex did
    change the mode, so that (and only that) is given back once the unit answers."""
    sonnen.answers_before_down = 1  # the switch to manual, then nothing
    with pytest.raises(HomeAssistantError):
        await set_number(hass, 1500)
    assert sonnen.device.operating_mode == 1
    assert sonnen.battery.setpoint_w == 0  # manual, nothing commanded: idle
    assert hass_storage[mode_key(sonnen_entry_loaded)]["data"] == {"found_mode": 2}
    sonnen.answers_before_down = None
    await hass.config_entries.async_reload(sonnen_entry_loaded.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert setpoints(sonnen) == [
        MODE_1,
        ("setpoint/discharge", 0),
        ("setpoint/charge", 0),
        ("EM_OperatingMode", 2),
    ]
    assert ("setpoint/discharge", 1500) not in setpoints(sonnen)


async def test_release_off_grid_with_nothing_held_sends_nothing(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """No setpoints off grid (notes §5.5): with nothing taken over there is nothing to
    hand back, so the release button sends nothing at all."""
    sonnen.overrides["SystemStatus"] = "OffGrid"
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    await release(hass)
    assert setpoints(sonnen) == []
    assert active(hass) == STATE_OFF
    sonnen.overrides.clear()
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    await release(hass)  # on grid again: the release recovers leftovers as before
    assert setpoints(sonnen) == [("setpoint/discharge", 0), ("setpoint/charge", 0)]


async def test_mode_restore_refused_is_an_error(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """The unit stops offering `/api/setting`: release says it cannot restore the mode."""
    await set_number(hass, 1000)
    sonnen.settings_api = False
    with pytest.raises(HomeAssistantError) as err:
        await release(hass)
    assert err.value.translation_key == "write_manual_mode_unavailable"
    assert sonnen.battery.setpoint_w == 0  # both directions are 0 already
    assert active(hass) == STATE_ON


# --- durations and restarts -------------------------------------------------------------------


async def test_duration_releases_and_restores(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
) -> None:
    """The setpoint persists on the unit, so the deadline is what ends it."""
    await set_power(hass, -2000, duration={"minutes": 5})
    await tick(hass, freezer, 299)
    assert sonnen.battery.setpoint_w == -2000
    await tick(hass, freezer, 2)
    assert sonnen.device.operating_mode == 2
    assert sonnen.battery.setpoint_w is None
    assert active(hass) == STATE_OFF


def left_in_control(
    hass_storage: dict[str, Any], entry: MockConfigEntry, value: float, until: str | None
) -> None:
    """What a previous run stored while holding a setpoint taken from mode 2."""
    control = f"{DOMAIN}.control.{entry.entry_id}"
    hass_storage.update(stored(control, {"battery_power": {"value": value, "until": until}}))
    hass_storage.update(stored(mode_key(entry), {"found_mode": 2}))


async def leave_unit_in_manual(sonnen: SonnenSimulator, discharge: int) -> None:
    """The unit as that run left it: manual mode, discharging."""
    sonnen.device.operating_mode = 1
    sonnen.device.write_setpoint("discharge", discharge)


@pytest.mark.parametrize("minutes_ago", [5, None])
async def test_expired_or_unbounded_command_released_at_start(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    hass_storage: dict[str, Any],
    minutes_ago: int | None,
) -> None:
    """A deadline that passed while Home Assistant was down, or none: released, mode back."""
    entry = sonnen_entry(hass, sonnen)
    until = None
    if minutes_ago is not None:
        until = (dt_util.utcnow() - timedelta(minutes=minutes_ago)).isoformat()
    left_in_control(hass_storage, entry, 1500, until)
    await leave_unit_in_manual(sonnen, 1500)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert setpoints(sonnen) == [
        ("setpoint/discharge", 0),
        ("setpoint/charge", 0),
        ("EM_OperatingMode", 2),
    ]
    assert sonnen.battery.setpoint_w is None
    assert active(hass) == STATE_OFF


async def test_pending_deadline_resumes_and_still_restores(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """A bounded command resumes until its deadline; the mode found before is kept."""
    entry = sonnen_entry(hass, sonnen)
    until = (dt_util.utcnow() + timedelta(seconds=90)).isoformat()
    left_in_control(hass_storage, entry, 1500, until)
    await leave_unit_in_manual(sonnen, 1500)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert setpoints(sonnen) == [("setpoint/charge", 0), ("setpoint/discharge", 1500)]
    assert active(hass) == STATE_ON
    await tick(hass, freezer, 91)
    assert setpoints(sonnen)[-1] == ("EM_OperatingMode", 2)
    assert sonnen.battery.setpoint_w is None


async def test_unit_left_in_manual_without_a_command_is_handed_back(
    hass: HomeAssistant, sonnen: SonnenSimulator, hass_storage: dict[str, Any]
) -> None:
    """Stopped between switching to manual and storing the command: released at start."""
    entry = sonnen_entry(hass, sonnen)
    hass_storage.update(stored(mode_key(entry), {"found_mode": 10}))
    await leave_unit_in_manual(sonnen, 700)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert setpoints(sonnen) == [
        ("setpoint/discharge", 0),
        ("setpoint/charge", 0),
        ("EM_OperatingMode", 10),
    ]


async def test_failed_hand_back_at_start_is_logged(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If that release fails, a warning says so and the mode stays remembered."""
    entry = sonnen_entry(hass, sonnen)
    hass_storage.update(stored(mode_key(entry), {"found_mode": 2}))
    sonnen.faults.error_status = 503
    sonnen.faults.methods = frozenset({"PUT"})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "Could not hand the sonnenBatterie back" in caplog.text
    assert hass_storage[mode_key(entry)]["data"] == {"found_mode": 2}


async def test_shutdown_hands_back_but_keeps_the_command_for_restart(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The unit would keep the command while Home Assistant is down: hand it back now."""
    await set_power(hass, -1200, duration={"hours": 2})
    sonnen.writes.clear()
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert setpoints(sonnen) == [
        ("setpoint/discharge", 0),
        ("setpoint/charge", 0),
        ("EM_OperatingMode", 2),
    ]
    control = hass_storage[f"{DOMAIN}.control.{sonnen_entry_loaded.entry_id}"]["data"]
    assert control["battery_power"]["value"] == -1200  # resumed at the next start


async def test_shutdown_without_control_sends_nothing(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing held: nothing to hand back; a failed hand-back is only a warning."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert setpoints(sonnen) == []
    adapter: Any = sonnen_entry_loaded.runtime_data.devices[0].controller._adapter
    await set_number(hass, 300)
    sonnen.faults.drop_connection = True
    await adapter.async_hand_back()
    assert "Could not hand the sonnenBatterie back at shutdown" in caplog.text


async def test_unload_releases(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """Removing or reloading the entry hands the unit back as it was found."""
    await set_number(hass, 900)
    await hass.config_entries.async_unload(sonnen_entry_loaded.entry_id)
    await hass.async_block_till_done()
    assert sonnen.device.operating_mode == 2
    assert sonnen.battery.setpoint_w is None
