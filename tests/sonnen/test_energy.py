"""Energy-dashboard counters integrated from the polled powers, across restarts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import DOMAIN
from simulators.sonnen import SonnenSimulator

from .conftest import FakeClock, sonnen_entry, state

COUNTERS = (
    "battery_charged_energy",
    "battery_discharged_energy",
    "grid_imported_energy",
    "grid_exported_energy",
    "produced_energy",
    "consumed_energy",
)
# Ten seconds at 1 kW, in kWh (the sensors' unit).
TEN_S_AT_1KW = 1000 * 10 / 3600 / 1000


def about(kwh: float) -> Any:
    """The counters are kept to the mWh (1e-6 kWh)."""
    return pytest.approx(kwh, abs=2e-6)


def kwh(hass: HomeAssistant) -> dict[str, float]:
    """Every counter's state in kWh."""
    return {key: float(state(hass, key)) for key in COUNTERS}


async def poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 10) -> None:
    """Move time by one poll interval and let the scheduled poll run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def storage_key(entry: MockConfigEntry) -> str:
    """Where an entry's counters are stored."""
    return f"{DOMAIN}.energy.{entry.entry_id}"


async def test_counters_integrate_the_polled_powers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
) -> None:
    """PV 2 kW, house 1 kW, battery charging 1 kW: each poll adds 10 s of each."""
    assert kwh(hass) == dict.fromkeys(COUNTERS, 0.0)
    for _ in range(3):
        await poll(hass, freezer)
    counters = kwh(hass)
    assert counters["battery_charged_energy"] == about(3 * TEN_S_AT_1KW)
    assert counters["produced_energy"] == about(6 * TEN_S_AT_1KW)
    assert counters["consumed_energy"] == about(3 * TEN_S_AT_1KW)
    assert counters["battery_discharged_energy"] == 0
    assert counters["grid_imported_energy"] == 0
    assert counters["grid_exported_energy"] == 0


async def test_discharge_and_export_feed_their_own_counters(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
) -> None:
    """sonnen's signs are converted before integrating: + Pac discharges, + feed-in exports."""
    sonnen.overrides.update({"Pac_total_W": 1800, "GridFeedIn_W": 720.0})
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    before = kwh(hass)
    await poll(hass, freezer, 20)
    counters = kwh(hass)
    assert counters["battery_discharged_energy"] - before["battery_discharged_energy"] == (
        about(0.010)
    )
    assert counters["grid_exported_energy"] - before["grid_exported_energy"] == about(0.004)
    assert counters["grid_imported_energy"] == before["grid_imported_energy"]


async def test_offline_gap_adds_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
) -> None:
    """While the unit does not answer, no energy is invented; counting resumes after."""
    await poll(hass, freezer)
    before = kwh(hass)
    sonnen.faults.error_status = 503
    for _ in range(4):
        await poll(hass, freezer)
    assert state(hass, "produced_energy") == STATE_UNAVAILABLE
    sonnen.faults.reset()
    await poll(hass, freezer)
    assert kwh(hass) == before  # the first answer after 50 s only starts a new interval
    await poll(hass, freezer)
    assert kwh(hass)["produced_energy"] == about(before["produced_energy"] + 2 * TEN_S_AT_1KW)


async def test_device_restart_keeps_the_counters(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    clock: FakeClock,
) -> None:
    """A rebooting unit (return code 14) neither resets nor inflates the counters."""
    await poll(hass, freezer)
    before = kwh(hass)
    sonnen.restart(60)
    for _ in range(6):
        await poll(hass, freezer)
        clock.advance(10)
    assert state(hass, "consumed_energy") == STATE_UNAVAILABLE
    await poll(hass, freezer)
    assert kwh(hass) == before
    await poll(hass, freezer)
    counters = kwh(hass)
    assert counters["consumed_energy"] == about(before["consumed_energy"] + TEN_S_AT_1KW)
    assert all(counters[key] >= before[key] for key in COUNTERS)


async def test_counters_survive_a_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Unloading stores the totals at once; the reloaded entry continues from them."""
    for _ in range(2):
        await poll(hass, freezer)
    before = kwh(hass)
    await hass.config_entries.async_unload(sonnen_entry_loaded.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[storage_key(sonnen_entry_loaded)]["data"]["counters"]
    assert stored["produced_energy"] == pytest.approx(before["produced_energy"] * 1000, abs=1e-3)
    await hass.config_entries.async_setup(sonnen_entry_loaded.entry_id)
    await hass.async_block_till_done()
    assert kwh(hass) == before
    await poll(hass, freezer)
    assert kwh(hass)["produced_energy"] > before["produced_energy"]


async def test_counters_restored_after_a_restart(
    hass: HomeAssistant, sonnen: SonnenSimulator, hass_storage: dict[str, Any]
) -> None:
    """After Home Assistant was down for an hour the counters continue where they were."""
    entry = sonnen_entry(hass, sonnen)
    an_hour_ago = (dt_util.utcnow() - timedelta(hours=1)).isoformat()
    hass_storage[storage_key(entry)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(entry),
        "data": {
            "counters": {
                "battery_charged_energy": 1_250_000.0,
                "battery_discharged_energy": 1_100_000.0,
                "grid_imported_energy": 2_000_000.0,
                "grid_exported_energy": 3_000_000.0,
                "produced_energy": 6_000_000.0,
                "consumed_energy": 5_000_000.0,
            },
            "last": {"at": an_hour_ago, "powers": {"production_power": 2000.0}},
        },
    }
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    counters = kwh(hass)
    # The hour while Home Assistant was down is not guessed.
    assert counters["produced_energy"] == 6000
    assert counters["battery_charged_energy"] == 1250
