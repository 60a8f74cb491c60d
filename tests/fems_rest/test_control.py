"""Control over FEMS REST: direction, keep-alive, release, durations, bounds, bursts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.number import (
    ATTR_VALUE,
    SERVICE_SET_VALUE,
)
from homeassistant.components.number import (
    DOMAIN as NUMBER_DOMAIN,
)
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import CONF_WRITE_PASSWORD, DOMAIN
from simulators.fems_rest import FemsRestSimulator

from .conftest import READ_PASSWORD, make_simulator, setup_fems_entry

SETPOINT = "number.fems_fems12345_battery_power_setpoint"
DISCHARGE_LIMIT = "number.fems_fems12345_discharge_power_limit"
CHARGE_LIMIT = "number.fems_fems12345_charge_power_limit"
RELEASE = "button.fems_fems12345_release_control"
ACTIVE = "binary_sensor.fems_fems12345_control_active"
BATTERY_POWER = "sensor.fems_fems12345_battery_power"
EQUALS = "ess0/SetActivePowerEquals"


def writes(simulator: FemsRestSimulator, channel: str = EQUALS) -> list[Any]:
    """The values the device accepted on one channel, in order."""
    return [record.value for record in simulator.writes.for_channel(channel)]


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number entity the way the UI does."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def set_power(hass: HomeAssistant, power: float, **extra: Any) -> None:
    """Call `energy_flex.set_battery_power` on the FEMS through one of its entities."""
    await hass.services.async_call(
        DOMAIN,
        "set_battery_power",
        {ATTR_ENTITY_ID: SETPOINT, "power": power, **extra},
        blocking=True,
    )


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time and let every timer and background task that became due run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_positive_setpoint_discharges(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """+3000 W in Home Assistant is +3000 W (discharge) at the device."""
    await set_number(hass, SETPOINT, 3000)
    assert writes(fems)[-1] == 3000
    assert fems.battery.setpoint_w == 3000
    fems.cycle_s = 0  # read back the effect now rather than next controller cycle
    await fems_entry.runtime_data.coordinator.async_refresh()
    assert float(hass.states.get(BATTERY_POWER).state) == pytest.approx(3000)  # type: ignore[union-attr]
    assert hass.states.get(SETPOINT).state == "3000.0"  # type: ignore[union-attr]
    assert hass.states.get(ACTIVE).state == STATE_ON  # type: ignore[union-attr]


async def test_negative_setpoint_charges(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """−2500 W in Home Assistant charges the battery at 2500 W."""
    await set_power(hass, -2500)
    assert writes(fems)[-1] == -2500
    fems.cycle_s = 0
    await fems_entry.runtime_data.coordinator.async_refresh()
    assert float(hass.states.get(BATTERY_POWER).state) == pytest.approx(-2500)  # type: ignore[union-attr]


async def test_limits_keep_their_direction(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """The charge limit is shown positive and written negative; discharge stays positive."""
    await hass.services.async_call(
        DOMAIN, "set_battery_power", {ATTR_ENTITY_ID: SETPOINT, "power": 0}, blocking=True
    )
    controller = fems_entry.runtime_data.devices[0].controller
    assert controller is not None
    from custom_components.energy_flex.const import SetpointKind  # noqa: PLC0415

    await controller.async_set(SetpointKind.CHARGE_LIMIT, 1500)
    await controller.async_set(SetpointKind.DISCHARGE_LIMIT, 2000)
    assert writes(fems, "ess0/SetActivePowerGreaterOrEquals") == [-1500]
    assert writes(fems, "ess0/SetActivePowerLessOrEquals") == [2000]
    assert fems.battery.charge_limit_w == -1500
    assert fems.battery.discharge_limit_w == 2000


async def test_limit_numbers_are_disabled_by_default(
    hass: HomeAssistant, fems_entry: MockConfigEntry
) -> None:
    """The SetActivePowerLess/GreaterOrEquals numbers exist but start disabled."""
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    registry = er.async_get(hass)
    for entity_id in (DISCHARGE_LIMIT, CHARGE_LIMIT):
        entry = registry.async_get(entity_id)
        assert entry is not None
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_keepalive_repeats_until_released(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A held setpoint is re-sent every 30 s; release writes null and stops repeating."""
    await set_number(hass, SETPOINT, 1200)
    assert writes(fems) == [None, 1200] or writes(fems) == [1200]
    before = len(writes(fems))
    for _ in range(3):
        await tick(hass, freezer, 30)
    assert writes(fems)[before:] == [1200, 1200, 1200]

    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: RELEASE}, blocking=True
    )
    assert writes(fems)[-1] is None
    assert fems.battery.setpoint_w is None
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(SETPOINT).state == STATE_UNKNOWN  # type: ignore[union-attr]
    released = len(writes(fems))
    await tick(hass, freezer, 90)
    assert len(writes(fems)) == released


async def test_keepalive_interval_option(
    hass: HomeAssistant, fems: FemsRestSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """The option changes how often the setpoint is repeated."""
    await setup_fems_entry(hass, fems, options={"keepalive_interval": 10})
    await set_number(hass, SETPOINT, 800)
    count = len(writes(fems))
    await tick(hass, freezer, 10)
    await tick(hass, freezer, 10)
    assert len(writes(fems)) == count + 2


async def test_keepalive_failure_logs_once_and_recovers(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device that stops answering is retried on every tick with one warning."""
    await set_number(hass, SETPOINT, 900)
    fems.faults.error_status = 503
    fems.faults.methods = frozenset({"POST"})
    for _ in range(3):
        await tick(hass, freezer, 30)
    assert caplog.text.count("Could not repeat") == 1
    fems.faults.reset()
    await tick(hass, freezer, 30)
    assert writes(fems)[-1] == 900
    assert "works again" in caplog.text


async def test_duration_ends_control(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A command with a duration releases itself when it ends."""
    await set_power(hass, -1000, duration={"minutes": 2})
    assert hass.states.get(ACTIVE).attributes["ends_at"]  # type: ignore[union-attr]
    await tick(hass, freezer, 90)
    assert writes(fems)[-1] == -1000
    await tick(hass, freezer, 31)
    assert writes(fems)[-1] is None
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]


def stored_control(entry: MockConfigEntry, value: float, until: str | None) -> dict[str, Any]:
    """What the controller stores for a held battery setpoint."""
    return {
        f"{DOMAIN}.control.{entry.entry_id}": {
            "version": 1,
            "minor_version": 1,
            "key": f"{DOMAIN}.control.{entry.entry_id}",
            "data": {"battery_power": {"value": value, "until": until}},
        }
    }


def fems_entry_for(simulator: FemsRestSimulator, hass: HomeAssistant) -> MockConfigEntry:
    """A not-yet-loaded entry for `simulator`."""
    from .conftest import HOSTNAME, fems_entry_data  # noqa: PLC0415

    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=HOSTNAME, title=f"FEMS {HOSTNAME}", data=fems_entry_data(simulator)
    )
    entry.add_to_hass(hass)
    return entry


async def test_expired_deadline_released_after_restart(
    hass: HomeAssistant, fems: FemsRestSimulator, hass_storage: dict[str, Any]
) -> None:
    """A deadline that passed while Home Assistant was down is released at start."""
    entry = fems_entry_for(fems, hass)
    past = (dt_util.utcnow() - timedelta(minutes=5)).isoformat()
    hass_storage.update(stored_control(entry, 2000, past))
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems) == [None]
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]


async def test_unbounded_command_not_resumed_after_restart(
    hass: HomeAssistant, fems: FemsRestSimulator, hass_storage: dict[str, Any]
) -> None:
    """A command without a duration is released, never silently resumed."""
    entry = fems_entry_for(fems, hass)
    hass_storage.update(stored_control(entry, 2000, None))
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems) == [None]


async def test_pending_deadline_resumes_until_it_passes(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A bounded command resumes after a restart and still ends on time."""
    entry = fems_entry_for(fems, hass)
    until = (dt_util.utcnow() + timedelta(seconds=45)).isoformat()
    hass_storage.update(stored_control(entry, -1500, until))
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems) == [-1500]
    assert hass.states.get(ACTIVE).state == STATE_ON  # type: ignore[union-attr]
    await tick(hass, freezer, 46)
    assert writes(fems)[-1] is None


async def test_duration_survives_a_reload_of_storage(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The deadline is written to storage as soon as the command is accepted."""
    await set_power(hass, 1000, duration={"minutes": 10})
    await hass.async_block_till_done()
    from homeassistant.helpers.storage import Store  # noqa: PLC0415

    stored = await Store[dict[str, Any]](
        hass, 1, f"{DOMAIN}.control.{fems_entry.entry_id}"
    ).async_load()
    assert stored is not None
    assert stored["battery_power"]["value"] == 1000
    assert stored["battery_power"]["until"] is not None


@pytest.mark.parametrize("power", [5001, -5001, 100000, float("nan")])
async def test_out_of_range_refused_and_nothing_sent(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry, power: float
) -> None:
    """Beyond the ESS's allowed power the action raises a translated error; no write."""
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, power)
    assert err.value.translation_key in ("setpoint_out_of_range", "setpoint_not_a_number")
    assert writes(fems) == []
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]


async def test_full_battery_refuses_charging(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """The allowed range comes from the device: a full battery accepts no charge."""
    fems.overrides["ess0/AllowedChargePower"] = 0
    await fems_entry.runtime_data.coordinator.async_refresh()
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, -100)
    assert err.value.translation_key == "setpoint_out_of_range"
    assert err.value.translation_placeholders == {"value": "-100", "min": "0", "max": "5000"}
    assert writes(fems) == []


async def test_unknown_range_refused_and_number_unavailable(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """Without the device's allowed power nothing can be validated, so nothing is sent."""
    fems.undefined.add("ess0/AllowedDischargePower")
    await fems_entry.runtime_data.coordinator.async_refresh()
    assert hass.states.get(SETPOINT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, 100)
    assert err.value.translation_key == "setpoint_range_unknown"
    assert writes(fems) == []


async def test_burst_collapses_to_last_value(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """Many quick changes end on the last value with fewer writes than changes."""
    fems.faults.latency_s = 0.05  # the first write is still under way when the rest arrive
    fems.faults.methods = frozenset({"POST"})
    values = [100, 200, 300, 400, 500, 600]
    controller = fems_entry.runtime_data.devices[0].controller
    assert controller is not None
    from custom_components.energy_flex.const import SetpointKind  # noqa: PLC0415

    await asyncio.gather(*(controller.async_set(SetpointKind.BATTERY_POWER, v) for v in values))
    sent = writes(fems)
    assert sent[-1] == 600
    assert len(sent) < len(values)
    assert controller.held(SetpointKind.BATTERY_POWER) == 600


@pytest.mark.parametrize(
    ("sim_kwargs", "write_password", "key"),
    [
        ({"read_write": False}, None, "write_read_only_api"),
        ({"read_write": False, "firmware": "2025.3.0"}, None, "write_read_only_api"),
        ({}, READ_PASSWORD, "write_role_too_low"),
        ({"firmware": "2025.3.0"}, READ_PASSWORD, "write_role_too_low"),
    ],
)
async def test_rejected_write_raises_repair_issue(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    sim_kwargs: dict[str, Any],
    write_password: str | None,
    key: str,
) -> None:
    """A missing write app or a guest password: clear error, repair issue, no control."""
    async with make_simulator(**sim_kwargs) as simulator:
        entry = fems_entry_for(simulator, hass)
        if write_password:
            hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_WRITE_PASSWORD: write_password}
            )
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        with pytest.raises(HomeAssistantError) as err:
            await set_number(hass, SETPOINT, 500)
        assert err.value.translation_key == key
        issue = issue_registry.async_get_issue(DOMAIN, f"write_rejected_{entry.entry_id}")
        assert issue is not None
        assert issue.translation_key == key
        assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]
        assert simulator.battery.setpoint_w is None
        # Once writes work again (the owner password), the repair goes away.
        if write_password:
            hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_WRITE_PASSWORD: "owner-pw-91c2"}
            )
            await hass.config_entries.async_reload(entry.entry_id)
            await hass.async_block_till_done()
            await set_number(hass, SETPOINT, 500)
            assert (
                issue_registry.async_get_issue(DOMAIN, f"write_rejected_{entry.entry_id}") is None
            )
        await hass.config_entries.async_unload(entry.entry_id)


async def test_wrong_write_password_starts_reauth(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """The owner password changed on the device: the write fails and reauth starts."""
    fems.passwords["owner"] = "changed"
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, SETPOINT, 500)
    assert err.value.translation_key == "write_auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_unreachable_device_write_fails_cleanly(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """A dropped connection is a translated error and control is not shown as active."""
    fems.faults.drop_connection = True
    fems.faults.methods = frozenset({"POST"})
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, SETPOINT, 500)
    assert err.value.translation_key == "cannot_connect"
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(SETPOINT).state == STATE_UNKNOWN  # type: ignore[union-attr]


async def test_unload_releases_control(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """Removing or reloading the entry hands the battery back."""
    await set_number(hass, SETPOINT, 700)
    await hass.config_entries.async_unload(fems_entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems)[-1] is None
    assert fems.battery.setpoint_w is None


async def test_actions_need_a_controllable_target(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """A read-only entry cannot be targeted; the error says so and nothing is sent."""
    await setup_fems_entry(hass, fems, write=False)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_battery_power",
            {ATTR_ENTITY_ID: "sensor.fems_fems12345_state_of_charge", "power": 100},
            blocking=True,
        )
    assert err.value.translation_key == "no_controllable_target"
    assert writes(fems) == []


async def test_release_action_and_device_target(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """`release_control` by device releases what `set_battery_power` held."""
    from homeassistant.helpers import device_registry as dr  # noqa: PLC0415

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "fems12345"), fems_entry.entry_id
    )
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "set_battery_power", {"device_id": device.id, "power": 400}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "release_control", {"device_id": device.id}, blocking=True
    )
    assert writes(fems) == [400, None]


# --- a release that does not reach the device ------------------------------------------------


async def fail_release(hass: HomeAssistant, fems: FemsRestSimulator, power: float) -> int:
    """Hold `power`, then take the FEMS off the network and press release (which fails).

    Returns how many writes the device had accepted before it went away.
    """
    await set_number(hass, SETPOINT, power)
    assert writes(fems)[-1] == power
    assert fems.battery.setpoint_w == power
    fems.faults.drop_connection = True
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: RELEASE}, blocking=True
        )
    assert err.value.translation_key == "cannot_connect"
    assert hass.states.get(ACTIVE).state == STATE_ON  # type: ignore[union-attr]
    assert hass.states.get(ACTIVE).attributes["release_pending"] is True  # type: ignore[union-attr]
    return len(writes(fems))


@pytest.mark.parametrize("power", [3000, -2500], ids=["discharging", "charging"])
async def test_failed_release_is_finished_by_the_keepalive(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    power: float,
) -> None:
    """The keep-alive tick after the device returns sends the release, not the old setpoint."""
    before = await fail_release(hass, fems, power)
    await tick(hass, freezer, 30)  # still away: the release is tried, nothing arrives
    assert len(writes(fems)) == before
    # Back for writes, still failing reads: only the keep-alive can finish the release.
    fems.faults.methods = frozenset({"GET"})
    await tick(hass, freezer, 30)
    assert writes(fems)[before:] == [None]
    assert fems.battery.setpoint_w is None
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]
    fems.faults.reset()
    await tick(hass, freezer, 90)
    assert writes(fems)[before:] == [None]  # released: nothing is repeated


@pytest.mark.parametrize("power", [3000, -2500], ids=["discharging", "charging"])
async def test_failed_release_is_finished_by_the_next_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    power: float,
) -> None:
    """The first poll the device answers finishes the release, before any keep-alive."""
    before = await fail_release(hass, fems, power)
    await tick(hass, freezer, 10)  # a poll while the device is away
    assert hass.states.get(BATTERY_POWER).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    fems.faults.reset()
    await tick(hass, freezer, 10)
    assert writes(fems)[before:] == [None]
    assert fems.battery.setpoint_w is None
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]
    assert "release_pending" not in hass.states.get(ACTIVE).attributes  # type: ignore[union-attr]
    assert hass.states.get(SETPOINT).state == STATE_UNKNOWN  # type: ignore[union-attr]


async def test_new_command_wins_over_a_pending_release(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """A command after a failed release is sent even if it repeats the old value."""
    before = await fail_release(hass, fems, -1000)
    fems.faults.reset()
    await set_number(hass, SETPOINT, -1000)
    assert writes(fems)[before:] == [-1000]
    assert fems_entry.runtime_data.devices[0].controller.release_pending is False  # type: ignore[union-attr]
    await fems_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert writes(fems)[before:] == [-1000]  # the poll does not release it any more


async def test_pending_release_survives_a_restart(
    hass: HomeAssistant, fems: FemsRestSimulator, hass_storage: dict[str, Any]
) -> None:
    """A release still pending when Home Assistant stopped is finished at the next start,
    even though the command it ends had time left: it is never resumed."""
    entry = fems_entry_for(fems, hass)
    until = (dt_util.utcnow() + timedelta(minutes=30)).isoformat()
    stored = stored_control(entry, 2000, until)
    stored[f"{DOMAIN}.control.{entry.entry_id}"]["data"]["battery_power"]["releasing"] = True
    hass_storage.update(stored)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems) == [None]
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]


async def test_release_failing_at_start_stays_pending(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems: FemsRestSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """Writes fail at start: the release of an unbounded command waits for the device,
    control shows as active meanwhile, and the command is never resumed."""
    entry = fems_entry_for(fems, hass)
    hass_storage.update(stored_control(entry, -1800, None))
    fems.faults.error_status = 503
    fems.faults.methods = frozenset({"POST"})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems) == []
    assert hass.states.get(ACTIVE).state == STATE_ON  # type: ignore[union-attr]
    fems.faults.reset()
    await tick(hass, freezer, 10)
    assert writes(fems) == [None]
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]


async def test_unload_with_a_failing_release_leaves_it_pending(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Unloading while the device is away stores the release; the next start sends it."""
    await set_power(hass, 2200, duration={"hours": 1})
    controller = fems_entry.runtime_data.devices[0].controller
    assert controller is not None
    fems.faults.drop_connection = True
    await hass.config_entries.async_unload(fems_entry.entry_id)
    await hass.async_block_till_done()
    record = hass_storage[f"{DOMAIN}.control.{fems_entry.entry_id}"]["data"]["battery_power"]
    assert record["releasing"] is True
    fems.faults.reset()
    # Unloaded: nothing is retried any more (the next start does it).
    await controller.async_retry_release()
    before = len(writes(fems))
    assert writes(fems)[-1] == 2200
    await hass.config_entries.async_setup(fems_entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems)[before:] == [None]


async def test_failed_release_with_nothing_held_leaves_nothing_pending(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
) -> None:
    """The button with nothing held, the device away: an error, and nothing to finish."""
    fems.faults.drop_connection = True
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: RELEASE}, blocking=True
        )
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]
    fems.faults.reset()
    await tick(hass, freezer, 30)
    assert writes(fems) == []


async def test_pending_release_of_one_channel_keeps_the_other_alive(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Charging at 1200 W under a 900 W discharge limit; the limit's release fails.
    The keep-alive finishes that release (logged once while it fails) and goes on
    repeating the charge setpoint, which is still held."""
    from custom_components.energy_flex.const import SetpointKind  # noqa: PLC0415

    controller = fems_entry.runtime_data.devices[0].controller
    assert controller is not None
    await controller.async_set(SetpointKind.BATTERY_POWER, -1200)
    await controller.async_set(SetpointKind.DISCHARGE_LIMIT, 900)
    fems.faults.drop_connection = True
    with pytest.raises(HomeAssistantError):
        await controller.async_release((SetpointKind.DISCHARGE_LIMIT,))
    assert controller.release_pending
    await tick(hass, freezer, 30)
    await tick(hass, freezer, 30)
    assert caplog.text.count("Could not finish releasing") == 1
    fems.faults.reset()
    before = len(fems.writes.records)
    await tick(hass, freezer, 30)
    assert [(w.channel, w.value) for w in fems.writes.records[before:]] == [
        ("ess0/SetActivePowerLessOrEquals", None),
        (EQUALS, -1200),
    ]
    assert "now that the device answers again" in caplog.text
    assert controller.held(SetpointKind.BATTERY_POWER) == -1200
    assert not controller.release_pending
    assert hass.states.get(ACTIVE).state == STATE_ON  # type: ignore[union-attr]
    await controller.async_release((SetpointKind.BATTERY_POWER,))
    assert writes(fems)[-1] is None
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]


async def test_release_left_over_by_an_earlier_run_is_finished_at_start(
    hass: HomeAssistant, fems: FemsRestSimulator, hass_storage: dict[str, Any]
) -> None:
    """A pending release of a setpoint whose value was never known is still sent."""
    entry = fems_entry_for(fems, hass)
    hass_storage[f"{DOMAIN}.control.{entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.control.{entry.entry_id}",
        "data": {"battery_power": {"value": None, "until": None, "releasing": True}},
    }
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(fems) == [None]
    assert hass.states.get(ACTIVE).state == STATE_OFF  # type: ignore[union-attr]


async def test_a_command_to_an_unloaded_entry_is_refused(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """Targeting the device of an unloaded entry: a translated refusal, nothing sent."""
    entry = await setup_fems_entry(hass, fems)
    await hass.config_entries.async_unload(entry.entry_id)
    released = len(fems.writes.records)  # unloading released the setpoint
    device = next(iter(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)))
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            DOMAIN, "set_battery_power", {"device_id": device.id, "power": -1000}, blocking=True
        )
    assert excinfo.value.translation_key == "entry_not_loaded"
    assert excinfo.value.translation_placeholders == {"title": entry.title}
    assert len(fems.writes.records) == released


async def test_a_command_to_other_devices_is_refused(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """Another integration's device and an unknown entity are no battery: refused."""
    await setup_fems_entry(hass, fems)
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    foreign = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "x")}
    )
    written = len(fems.writes.records)
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            DOMAIN,
            "set_battery_power",
            {"device_id": foreign.id, "entity_id": "sensor.nothing_here", "power": -1000},
            blocking=True,
        )
    assert excinfo.value.translation_key == "no_controllable_target"
    assert len(fems.writes.records) == written
