"""PowerFlex DCM control: every write with its exact body, refusals that send nothing,
timed site limits restored (also across a restart), serialised writes and bursts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.api.powerflex import MONTHS
from custom_components.energy_flex.const import CONF_MAX_SITE_LOAD_KW, DOMAIN
from custom_components.energy_flex.settings_control import SETTING_RESTORE_RETRY
from custom_components.energy_flex.vendors.powerflex.control import SIGNAL, PowerFlexSite
from simulators.powerflex import PowerFlexSimulator
from simulators.powerflex.model import DEFAULT_SIGNAL_NAME, Signal

from .conftest import (
    SITE,
    SITE_IDENTITY,
    add_entry,
    entity_id,
    setup_entry,
    state,
    station_identity,
    tick,
    writes,
)

NAME = DEFAULT_SIGNAL_NAME
# The simulator's signal, as the vendor's example: 21.616 kW, enabled.
ORIGINAL = {"max_load": 21.616, "max_load_unit": "kW", "is_enabled": True, "name": NAME}


def site_device_id(hass: HomeAssistant, identity: str = SITE_IDENTITY) -> str:
    """The registry id of the site (or a station) device."""
    found = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, identity)})
    assert found
    return found[0].id


def signal(simulator: PowerFlexSimulator) -> Signal:
    """The DCM signal the simulated site holds now."""
    return simulator.site(SITE).signals[NAME]


async def set_number(hass: HomeAssistant, key: str, value: float) -> None:
    """Set a number as the UI does."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id(hass, "number", key), ATTR_VALUE: value},
        blocking=True,
    )


async def switch(hass: HomeAssistant, on: bool) -> None:
    """Switch `dcm_enabled`."""
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id(hass, "switch", "dcm_enabled")},
        blocking=True,
    )


async def set_site_limit(hass: HomeAssistant, **data: Any) -> None:
    """`energy_flex.set_site_limit` for the site."""
    await hass.services.async_call(
        DOMAIN,
        "set_site_limit",
        {"device_id": site_device_id(hass), **data},
        blocking=True,
    )


async def call_targets(hass: HomeAssistant, service: str, **data: Any) -> Any:
    """`energy_flex.set_target_peak_power` or `get_target_peak_power`, with its response."""
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"device_id": site_device_id(hass), **data},
        blocking=True,
        return_response=True,
    )


# --- the cap: number and switch ----------------------------------------------------------------


async def test_number_shows_and_sets_the_cap_with_one_write(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """All four fields go out, the unit and switch as they were; shown without a poll."""
    number = hass.states.get(entity_id(hass, "number", "dcm_max_load"))
    assert number is not None
    assert number.state == "21.616"
    assert number.attributes["unit_of_measurement"] == "kW"
    assert number.attributes["device_class"] == "power"
    assert (number.attributes["min"], number.attributes["max"]) == (0, 500)
    polls = len(site_sim.requests_to("get_measurement_data"))
    await set_number(hass, "dcm_max_load", 15)
    assert writes(site_sim, "set_external_signal") == [
        {"max_load": 15.0, "max_load_unit": "kW", "is_enabled": True, "name": NAME}
    ]
    assert site_sim.requests_to("set_external_signal")[0].path == f"/set_external_signal/{SITE}"
    assert state(hass, "number", "dcm_max_load") == "15.0"
    assert len(site_sim.requests_to("get_measurement_data")) == polls
    assert signal(site_sim).max_load == 15.0


async def test_lower_cap_lowers_the_charging(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Direction: two 32 A cars (15.4 kW) under a 10 kW cap draw 10 kW at most."""
    site_sim.plug_in(SITE, 1)
    site_sim.plug_in(SITE, 2)
    await tick(hass, freezer, 30)
    assert float(state(hass, "sensor", "site_charging_power")) == 2 * 32 * 240
    await set_number(hass, "dcm_max_load", 10)
    await tick(hass, freezer, 30)
    charging = float(state(hass, "sensor", "site_charging_power"))
    assert 0 < charging <= 10_000
    await switch(hass, False)
    await tick(hass, freezer, 30)
    assert float(state(hass, "sensor", "site_charging_power")) == 2 * 32 * 240


@pytest.mark.parametrize("value", [-1, 500.1, 10_000])
async def test_number_refuses_out_of_range_and_sends_nothing(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry, value: float
) -> None:
    """Below 0 or above the site maximum of the options: refused, nothing written."""
    with pytest.raises(ServiceValidationError):
        await set_number(hass, "dcm_max_load", value)
    assert writes(site_sim, "set_external_signal") == []


@pytest.mark.parametrize(
    ("max_load", "unit"),
    [(-0.5, "kW"), (80.5, "kW"), (float("nan"), "kW"), (2000.5, "A")],
)
async def test_action_refuses_out_of_range_and_sends_nothing(
    hass: HomeAssistant,
    site_sim: PowerFlexSimulator,
    max_load: float,
    unit: str,
) -> None:
    """The action checks against the option of its unit, with a translated message."""
    entry = await setup_entry(hass, site_sim, {CONF_MAX_SITE_LOAD_KW: 80})
    with pytest.raises(ServiceValidationError) as err:
        await set_site_limit(hass, max_load=max_load, unit=unit)
    assert err.value.translation_key == "site_limit_out_of_range"
    assert err.value.translation_placeholders["unit"] == unit
    assert writes(site_sim, "set_external_signal") == []
    await set_site_limit(hass, max_load=80, unit="kW")
    assert len(writes(site_sim, "set_external_signal")) == 1
    await hass.config_entries.async_unload(entry.entry_id)


async def test_cap_in_amperes(hass: HomeAssistant, site_sim: PowerFlexSimulator) -> None:
    """A signal in A: the number is a current, bounded by the ampere option."""
    site_sim.site(SITE).signals[NAME] = Signal(NAME, 120.0, "A", True)
    entry = await setup_entry(hass, site_sim)
    number = hass.states.get(entity_id(hass, "number", "dcm_max_load"))
    assert number is not None
    assert number.state == "120.0"
    assert number.attributes["unit_of_measurement"] == "A"
    assert number.attributes["device_class"] == "current"
    assert number.attributes["max"] == 2000
    await set_number(hass, "dcm_max_load", 100)
    assert writes(site_sim, "set_external_signal") == [
        {"max_load": 100.0, "max_load_unit": "A", "is_enabled": True, "name": NAME}
    ]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_switch_keeps_max_load(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """Off and on: one write each, the cap unchanged."""
    assert state(hass, "switch", "dcm_enabled") == STATE_ON
    await switch(hass, False)
    assert state(hass, "switch", "dcm_enabled") == STATE_OFF
    await switch(hass, True)
    assert writes(site_sim, "set_external_signal") == [
        {**ORIGINAL, "is_enabled": False},
        {**ORIGINAL, "is_enabled": True},
    ]


async def test_site_without_dcm(hass: HomeAssistant, site_sim: PowerFlexSimulator) -> None:
    """No external signal: the DCM entities are unavailable, the stations are not."""
    site_sim.site(SITE).signals.clear()
    entry = await setup_entry(hass, site_sim)
    assert state(hass, "number", "dcm_max_load") == STATE_UNAVAILABLE
    assert state(hass, "switch", "dcm_enabled") == STATE_UNAVAILABLE
    assert state(hass, "sensor", "charging_power", 1) == "0.0"
    with pytest.raises(ServiceValidationError) as err:
        await set_site_limit(hass, max_load=10, unit="kW")
    assert err.value.translation_key == "dcm_unavailable"
    assert writes(site_sim, "set_external_signal") == []
    await hass.config_entries.async_unload(entry.entry_id)


async def test_service_error_is_a_connection_problem(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """A 5xx on a write: a translated error, no new login, no reauth."""
    site_sim.endpoint_errors["set_external_signal"] = 503
    logins = site_sim.login_count
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, "dcm_max_load", 12)
    assert err.value.translation_key == "cannot_connect"
    assert site_sim.login_count == logins
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert state(hass, "number", "dcm_max_load") == "21.616"


# --- serialised writes, bursts -----------------------------------------------------------------


async def test_burst_collapses_to_the_last_value(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """Five quick changes while the first write is on its way: the first, then the last."""
    site_sim.faults.latency_s = 0.2
    site_sim.faults.methods = frozenset({"POST"})
    await asyncio.gather(*(set_number(hass, "dcm_max_load", value) for value in (1, 2, 3, 4, 5)))
    bodies = writes(site_sim, "set_external_signal")
    assert [body["max_load"] for body in bodies] == [1.0, 5.0]
    assert signal(site_sim).max_load == 5.0
    assert state(hass, "number", "dcm_max_load") == "5.0"


async def test_switch_and_number_in_one_burst_merge(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """A cap and an off queued behind another write go out together: nothing is lost."""
    site_sim.faults.latency_s = 0.2
    site_sim.faults.methods = frozenset({"POST"})
    await asyncio.gather(
        set_number(hass, "dcm_max_load", 9),
        set_number(hass, "dcm_max_load", 8),
        switch(hass, False),
    )
    assert writes(site_sim, "set_external_signal") == [
        {**ORIGINAL, "max_load": 9.0},
        {**ORIGINAL, "max_load": 8.0, "is_enabled": False},
    ]


async def test_every_caller_of_a_failed_burst_sees_the_error(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """A change that went out with another caller's failed write fails too."""
    site_sim.faults.latency_s = 0.2
    site_sim.faults.methods = frozenset({"POST"})
    site_sim.endpoint_errors["set_external_signal"] = 503
    results = await asyncio.gather(
        set_number(hass, "dcm_max_load", 1),
        set_number(hass, "dcm_max_load", 2),
        set_number(hass, "dcm_max_load", 3),
        return_exceptions=True,
    )
    assert all(isinstance(result, HomeAssistantError) for result in results)
    assert len(site_sim.requests_to("set_external_signal")) == 2


# --- set_site_limit and durations --------------------------------------------------------------


async def test_site_limit_without_duration_stays(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Every field as given; nothing is restored later."""
    await set_site_limit(hass, max_load=40, unit="A", enabled=False)
    assert writes(site_sim, "set_external_signal") == [
        {"max_load": 40.0, "max_load_unit": "A", "is_enabled": False, "name": NAME}
    ]
    await tick(hass, freezer, 24 * 3600)
    assert len(writes(site_sim, "set_external_signal")) == 1


async def test_duration_restores_all_three_fields(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """10 kW for 30 min, stored at once; at the deadline the previous signal comes back."""
    await set_site_limit(hass, max_load=10, unit="kW", duration={"minutes": 30})
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.settings.{site_entry.entry_id}"]["data"]
    assert stored["dcm_signal"]["restore"] == ORIGINAL
    await tick(hass, freezer, 29 * 60)
    assert len(writes(site_sim, "set_external_signal")) == 1
    await tick(hass, freezer, 61)
    assert writes(site_sim, "set_external_signal") == [
        {"max_load": 10.0, "max_load_unit": "kW", "is_enabled": True, "name": NAME},
        ORIGINAL,
    ]
    assert state(hass, "number", "dcm_max_load") == "21.616"
    await hass.async_block_till_done()
    assert hass_storage[f"{DOMAIN}.settings.{site_entry.entry_id}"]["data"] == {}


async def test_timed_limits_in_a_row_restore_the_first_signal(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """A second timed limit replaces the deadline, not the signal to come back to."""
    await set_site_limit(hass, max_load=10, unit="kW", duration={"minutes": 30})
    await tick(hass, freezer, 10 * 60)
    await set_site_limit(hass, max_load=50, unit="A", enabled=True, duration={"minutes": 30})
    await tick(hass, freezer, 25 * 60)
    assert len(writes(site_sim, "set_external_signal")) == 2
    await tick(hass, freezer, 5 * 60)
    assert writes(site_sim, "set_external_signal")[-1] == ORIGINAL


async def test_a_change_for_good_ends_a_timed_limit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """The number after a timed limit: the user's value stays, nothing is restored."""
    await set_site_limit(hass, max_load=10, unit="kW", duration={"minutes": 30})
    await set_number(hass, "dcm_max_load", 18)
    await tick(hass, freezer, 3600)
    assert [body["max_load"] for body in writes(site_sim, "set_external_signal")] == [10.0, 18.0]


async def test_failed_restore_is_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service is down at the deadline: tried again every minute until it works."""
    await set_site_limit(hass, max_load=10, unit="kW", duration={"minutes": 5})
    site_sim.endpoint_errors["set_external_signal"] = 502
    await tick(hass, freezer, 5 * 60)
    assert "Could not restore dcm_signal" in caplog.text
    assert signal(site_sim).max_load == 10.0
    del site_sim.endpoint_errors["set_external_signal"]
    await tick(hass, freezer, SETTING_RESTORE_RETRY.total_seconds())
    assert writes(site_sim, "set_external_signal")[-1] == ORIGINAL
    assert signal(site_sim).max_load == 21.616


def stored_restore(entry: MockConfigEntry, until: str) -> dict[str, Any]:
    """What an earlier run stored for a timed limit of 10 kW taken from the original."""
    key = f"{DOMAIN}.settings.{entry.entry_id}"
    return {
        key: {
            "version": 1,
            "minor_version": 1,
            "key": key,
            "data": {"dcm_signal": {"restore": ORIGINAL, "until": until}},
        }
    }


async def test_deadline_passed_while_stopped_is_restored_at_start(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, hass_storage: dict[str, Any]
) -> None:
    """Home Assistant was down at the deadline: the previous signal comes back at start."""
    site_sim.site(SITE).signals[NAME] = Signal(NAME, 10.0, "kW", False)
    entry = add_entry(hass, site_sim)
    hass_storage.update(
        stored_restore(entry, (dt_util.utcnow() - timedelta(minutes=5)).isoformat())
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(site_sim, "set_external_signal") == [ORIGINAL]
    assert state(hass, "number", "dcm_max_load") == "21.616"
    assert state(hass, "switch", "dcm_enabled") == STATE_ON
    await hass.config_entries.async_unload(entry.entry_id)


async def test_deadline_ahead_is_kept_across_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """The timed limit continues (PowerFlex kept it) and still ends on time."""
    site_sim.site(SITE).signals[NAME] = Signal(NAME, 10.0, "kW", True)
    entry = add_entry(hass, site_sim)
    hass_storage.update(
        stored_restore(entry, (dt_util.utcnow() + timedelta(minutes=20)).isoformat())
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(site_sim, "set_external_signal") == []
    await tick(hass, freezer, 20 * 60)
    assert writes(site_sim, "set_external_signal") == [ORIGINAL]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_keeps_the_timed_limit_for_the_next_start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A reload neither raises the cap early nor forgets to restore it."""
    await set_site_limit(hass, max_load=10, unit="kW", duration={"minutes": 30})
    await hass.config_entries.async_unload(site_entry.entry_id)
    await tick(hass, freezer, 40 * 60)
    assert len(writes(site_sim, "set_external_signal")) == 1
    await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert writes(site_sim, "set_external_signal")[-1] == ORIGINAL


async def test_garbage_in_storage_is_ignored(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, hass_storage: dict[str, Any]
) -> None:
    """A stored record that is not a restore is never written to the site."""
    entry = add_entry(hass, site_sim)
    key = f"{DOMAIN}.settings.{entry.entry_id}"
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"dcm_signal": {"restore": "21 kW", "until": None}, "other": 5},
    }
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert writes(site_sim, "set_external_signal") == []
    await hass.config_entries.async_unload(entry.entry_id)


# --- target peak power -------------------------------------------------------------------------


async def test_target_number_is_this_month_in_the_home_time_zone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
) -> None:
    """30 June 23:30 UTC is July in Berlin: the July target is shown and set."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    freezer.move_to("2026-06-30 22:30:00+00:00")
    site_sim.site(SITE).target_peak_kw.update({"Jun": 300, "Jul": 400})
    entry = await setup_entry(hass, site_sim)
    number = hass.states.get(entity_id(hass, "number", "target_peak_power"))
    assert number is not None
    assert number.state == "400"
    assert number.attributes["unit_of_measurement"] == "kW"
    await set_number(hass, "target_peak_power", 650)
    assert writes(site_sim, "set_target_peak_power_kW") == [{"target_peak_power": {"Jul": 650}}]
    assert site_sim.site(SITE).target_peak_kw["Jun"] == 300
    assert state(hass, "number", "target_peak_power") == "650"
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("value", [-1, 650.5])
async def test_target_number_refuses_and_sends_nothing(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry, value: float
) -> None:
    """Negative or not whole kW: nothing is written."""
    with pytest.raises(ServiceValidationError):
        await set_number(hass, "target_peak_power", value)
    assert writes(site_sim, "set_target_peak_power_kW") == []


async def test_set_and_get_target_peak_power_answer_all_twelve_months(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """Only the months given are sent; the response holds all twelve."""
    response = await call_targets(hass, "set_target_peak_power", months={"Jun": 700, "jul": 555.0})
    assert writes(site_sim, "set_target_peak_power_kW") == [
        {"target_peak_power": {"Jun": 700, "Jul": 555}}
    ]
    expected = dict.fromkeys(MONTHS, 200) | {"Jun": 700, "Jul": 555}
    assert response == {"months": expected}
    assert list(response["months"]) == list(MONTHS)
    site_sim.site(SITE).target_peak_kw["Dec"] = 90  # changed elsewhere
    response = await call_targets(hass, "get_target_peak_power")
    assert response == {"months": expected | {"Dec": 90}}


@pytest.mark.parametrize(
    ("months", "key"),
    [
        ({"June": 700}, "unknown_month"),
        ({"Jun": -1}, "target_peak_power_invalid"),
        ({"Jun": 7.5}, "target_peak_power_invalid"),
        ({"Jun": "700"}, "target_peak_power_invalid"),
        ({"Jun": True}, "target_peak_power_invalid"),
        ({"Jun": 100_001}, "target_peak_power_invalid"),
        ({}, "no_month_given"),
    ],
)
async def test_bad_months_refused_and_nothing_sent(
    hass: HomeAssistant,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
    months: dict[str, Any],
    key: str,
) -> None:
    """A translated refusal; the service sees nothing."""
    with pytest.raises(ServiceValidationError) as err:
        await call_targets(hass, "set_target_peak_power", months=months)
    assert err.value.translation_key == key
    assert writes(site_sim, "set_target_peak_power_kW") == []


async def test_targets_not_polled_yet_are_asked_first(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """A site whose targets did not answer at start: a change reads them, then writes."""
    site_sim.endpoint_errors["get_target_peak_power_kW"] = 404
    entry = await setup_entry(hass, site_sim)
    assert state(hass, "number", "target_peak_power") == STATE_UNAVAILABLE
    del site_sim.endpoint_errors["get_target_peak_power_kW"]
    response = await call_targets(hass, "set_target_peak_power", months={"Mar": 100})
    assert response["months"]["Mar"] == 100
    assert writes(site_sim, "set_target_peak_power_kW") == [{"target_peak_power": {"Mar": 100}}]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_get_target_peak_power_errors_are_translated(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """The service down: cannot_connect."""
    site_sim.endpoint_errors["get_target_peak_power_kW"] = 500
    with pytest.raises(HomeAssistantError) as err:
        await call_targets(hass, "get_target_peak_power")
    assert err.value.translation_key == "cannot_connect"


# --- targets of the actions --------------------------------------------------------------------


async def test_actions_need_the_site_device(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """A station, an unknown device or an unloaded entry: refused, nothing sent."""
    station = site_device_id(hass, station_identity(1))
    for device_id in (station, "no-such-device"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "set_site_limit",
                {"device_id": device_id, "max_load": 5, "unit": "kW"},
                blocking=True,
            )
        assert err.value.translation_key == "not_a_powerflex_site"
    site = site_device_id(hass)
    await hass.config_entries.async_unload(site_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_target_peak_power",
            {"device_id": site},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "entry_not_loaded"
    assert writes(site_sim, "set_external_signal") == []


async def test_change_without_a_known_setting_sends_nothing(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """The signal vanished from the poll after validation: refused, nothing written."""
    site = site_entry.runtime_data.vendor_data
    assert isinstance(site, PowerFlexSite)
    coordinator = site_entry.runtime_data.coordinator
    coordinator.async_set_updated_data(replace(coordinator.data, signal=None))
    with pytest.raises(ServiceValidationError) as err:
        await site.settings.async_change(SIGNAL, {"max_load": 5.0})
    assert err.value.translation_key == "setting_unavailable"
    assert writes(site_sim, "set_external_signal") == []


async def test_deadline_during_a_change_for_good_restores_nothing(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """The deadline passes while the number's write is on its way: the user's value wins.

    Real time (no `freezer`): a 1 s limit, then a write the server answers after 2 s.
    """
    await set_site_limit(hass, max_load=10, unit="kW", duration={"seconds": 1})
    site_sim.faults.latency_s = 2.0
    site_sim.faults.methods = frozenset({"POST"})
    await set_number(hass, "dcm_max_load", 18)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [body["max_load"] for body in writes(site_sim, "set_external_signal")] == [10.0, 18.0]
    assert signal(site_sim).max_load == 18.0


async def test_actions_ignore_devices_of_other_integrations(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """A device that also belongs to another integration's entry is found by ours only."""
    other = MockConfigEntry(domain="other_integration")
    other.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other_integration", "x")}
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_site_limit",
            {"device_id": device.id, "max_load": 5, "unit": "kW"},
            blocking=True,
        )
    assert err.value.translation_key == "not_a_powerflex_site"
