"""One absurd sample never reaches the integrated energy counters (issue 14).

A total-increasing counter can never give energy back, so a single `Pac_total_W` of
2147483647 would spoil the Energy dashboard for good. The integrator refuses samples
beyond what the unit can do, counts them for diagnostics, and each interval adds at most
what the unit could have moved in it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_flex.energy_integrator import EnergyIntegrator, PowerSample
from simulators.sonnen import SonnenSimulator

from .conftest import state

COUNTERS = (
    "battery_charged_energy",
    "battery_discharged_energy",
    "grid_imported_energy",
    "grid_exported_energy",
    "produced_energy",
    "consumed_energy",
)
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=dt_util.UTC)
INVERTER_MAX_POWER_W = 4600  # the eu_current profile's IC_InverterMaxPower_w


def kwh(hass: HomeAssistant) -> dict[str, float]:
    """Every counter's state in kWh."""
    return {key: float(state(hass, key)) for key in COUNTERS}


async def poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 10) -> None:
    """Move time by one poll interval and let the scheduled poll run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def most_the_unit_moves_kwh(seconds: float) -> float:
    """What the battery could move at most in `seconds` (twice its rating), in kWh."""
    return 2 * INVERTER_MAX_POWER_W * seconds / 3600 / 1000


@pytest.mark.parametrize("absurd", [2_147_483_647, -2_147_483_647, 65_531, 9_201])
async def test_one_absurd_battery_power_adds_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    absurd: int,
) -> None:
    """A single impossible `Pac_total_W` is neither shown nor integrated, and is reported."""
    caplog.set_level(logging.DEBUG, logger="custom_components.energy_flex")
    await poll(hass, freezer)
    before = kwh(hass)
    sonnen.overrides["Pac_total_W"] = absurd
    await poll(hass, freezer)
    assert state(hass, "battery_power") == "unknown"
    sonnen.overrides.clear()
    await poll(hass, freezer)
    after = kwh(hass)
    for key in ("battery_charged_energy", "battery_discharged_energy"):
        # The intervals on both sides of the absurd sample are skipped: nothing is added.
        assert after[key] == before[key], key
    assert after["produced_energy"] > before["produced_energy"]  # the others go on
    assert "Unexpected error" not in caplog.text
    assert caplog.text.count("Not integrating battery_power") == 1

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, sonnen_entry_loaded)
    energy = diagnostics["client"]["energy_integrator"]
    assert energy["rejected_samples"] == 1
    assert energy["last_rejected"].startswith("battery_power")
    assert energy["rated_power_w"] == INVERTER_MAX_POWER_W


async def test_a_number_beyond_any_float_fails_no_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """400 digits (an OverflowError in `float()`) are unknown; the rest of the poll lives."""
    await poll(hass, freezer)
    before = kwh(hass)
    sonnen.overrides["Pac_total_W"] = 10**400
    sonnen.overrides["USOC"] = -(10**400)
    for _ in range(2):
        await poll(hass, freezer)
    assert state(hass, "battery_power") == "unknown"
    assert state(hass, "state_of_charge") == "unknown"
    assert float(state(hass, "production_power")) == 2000
    assert kwh(hass)["battery_charged_energy"] == before["battery_charged_energy"]
    assert "OverflowError" not in caplog.text
    assert "Unexpected error" not in caplog.text


async def test_a_lasting_absurd_power_is_logged_once_and_counted_each_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three polls of an impossible grid power: three rejected samples, one debug line."""
    caplog.set_level(logging.DEBUG, logger="custom_components.energy_flex")
    await poll(hass, freezer)
    before = kwh(hass)
    sonnen.overrides["GridFeedIn_W"] = -5_000_000  # 5 MW bought by a house
    for _ in range(3):
        await poll(hass, freezer)
    assert state(hass, "grid_power") == "unknown"
    assert kwh(hass)["grid_imported_energy"] == before["grid_imported_energy"]
    assert caplog.text.count("Not integrating grid_power") == 1
    integrator = sonnen_entry_loaded.runtime_data.diagnostics()["energy_integrator"]
    assert integrator["rejected_samples"] == 3


async def test_counters_never_grow_faster_than_the_unit_can_move(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
) -> None:
    """Just within the bound is integrated; beyond it nothing is: never a jump."""
    await poll(hass, freezer)
    before = kwh(hass)
    sonnen.overrides["Pac_total_W"] = 2 * INVERTER_MAX_POWER_W  # the most that is believed
    await poll(hass, freezer)
    await poll(hass, freezer)
    grown = kwh(hass)["battery_discharged_energy"] - before["battery_discharged_energy"]
    assert 0 < grown <= most_the_unit_moves_kwh(20) + 1e-6
    sonnen.overrides["Pac_total_W"] = 2 * INVERTER_MAX_POWER_W + 1
    middle = kwh(hass)
    await poll(hass, freezer)
    assert kwh(hass)["battery_discharged_energy"] == middle["battery_discharged_energy"]


async def test_a_rating_learnt_later_rechecks_the_previous_sample(hass: HomeAssistant) -> None:
    """A sample believed without a rating is not integrated once the rating refutes it."""
    energy = EnergyIntegrator(hass, "test", max_gap=timedelta(seconds=30))
    energy.add(PowerSample(battery_power=500_000), T0)  # plausible for an unknown device
    energy.rated_power_w = INVERTER_MAX_POWER_W
    counters = energy.add(PowerSample(battery_power=1000), T0 + timedelta(seconds=10))
    assert counters.battery_discharged_energy == 0
    counters = energy.add(PowerSample(battery_power=1000), T0 + timedelta(seconds=20))
    assert counters.battery_discharged_energy == pytest.approx(1000 * 10 / 3600, abs=1e-3)
    assert energy.rejected_samples == 0  # the old sample was skipped, not counted again


async def test_impossible_stored_totals_are_not_continued(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """A stored counter that cannot be true (edited, corrupted) starts afresh."""
    hass_storage["energy_flex.energy.test"] = {
        "version": 1,
        "data": {
            "counters": {
                "produced_energy": 1e300,
                "consumed_energy": -5,
                "grid_imported_energy": 1234.5,
            },
            "last": None,
        },
    }
    energy = EnergyIntegrator(hass, "test", max_gap=timedelta(seconds=30))
    await energy.async_load()
    counters = energy.counters
    assert counters.produced_energy is None
    assert counters.consumed_energy is None
    assert counters.grid_imported_energy == 1234.5
