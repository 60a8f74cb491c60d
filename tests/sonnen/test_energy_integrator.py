"""The vendor-neutral energy integrator: trapezoids, zero crossings, gaps, storage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.energy_flex.energy_integrator import (
    EnergyCounters,
    EnergyIntegrator,
    PowerSample,
    positive_area,
)

KEY = "energy_flex.energy.test"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=dt_util.UTC)


def integrator(hass: HomeAssistant) -> EnergyIntegrator:
    """An integrator that skips gaps over 30 s."""
    return EnergyIntegrator(hass, "test", max_gap=timedelta(seconds=30))


def at(seconds: float) -> datetime:
    """T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (1000, 1000, 1000),
        (0, 2000, 1000),
        (-500, -500, 0),
        (1000, -1000, 250),  # crosses zero half-way: a triangle of 1000 W × 0.5 h / 2
        (-1000, 3000, 1125),  # crosses at a quarter: 3000 × 0.75 / 2
    ],
)
def test_positive_area_over_one_hour(start: float, end: float, expected: float) -> None:
    """Only the part above zero counts, also when the power changes sign."""
    assert positive_area(start, end, 1.0) == pytest.approx(expected)


async def test_counters_unknown_until_a_power_is_seen(hass: HomeAssistant) -> None:
    """Nothing integrated yet is unknown, not 0; the first sample starts at 0."""
    energy = integrator(hass)
    assert energy.counters == EnergyCounters()
    counters = energy.add(PowerSample(battery_power=-1000), at(0))
    assert counters.battery_charged_energy == 0
    assert counters.battery_discharged_energy == 0
    assert counters.grid_imported_energy is None
    assert counters.produced_energy is None


async def test_trapezoid_split_by_sign(hass: HomeAssistant) -> None:
    """Each power feeds the counter of its sign; production and consumption only grow."""
    energy = integrator(hass)
    energy.add(
        PowerSample(battery_power=-1800, grid_power=720, production_power=0, consumption_power=0),
        at(0),
    )
    counters = energy.add(
        PowerSample(
            battery_power=1800, grid_power=-720, production_power=3600, consumption_power=-36
        ),
        at(20),
    )
    # Battery: -1800 → +1800 over 20 s crosses zero at 10 s; 900 W mean over 10 s each side.
    assert counters.battery_charged_energy == pytest.approx(2.5)
    assert counters.battery_discharged_energy == pytest.approx(2.5)
    assert counters.grid_imported_energy == pytest.approx(1.0)
    assert counters.grid_exported_energy == pytest.approx(1.0)
    assert counters.produced_energy == pytest.approx(10.0)
    assert counters.consumed_energy == 0  # noise below zero is not negative consumption


@pytest.mark.parametrize("seconds", [31, 3600, -5, 0])
async def test_gaps_and_clock_jumps_invent_nothing(hass: HomeAssistant, seconds: float) -> None:
    """Longer than the gap, backwards or at the same instant: the interval is skipped."""
    energy = integrator(hass)
    energy.add(PowerSample(battery_power=1000), at(0))
    counters = energy.add(PowerSample(battery_power=1000), at(seconds))
    assert counters.battery_discharged_energy == 0
    # The next regular interval counts again.
    counters = energy.add(PowerSample(battery_power=1000), at(seconds + 18))
    assert counters.battery_discharged_energy == pytest.approx(5.0)


async def test_unknown_power_breaks_only_its_interval(hass: HomeAssistant) -> None:
    """A missing or NaN value skips the intervals next to it, for that power only."""
    energy = integrator(hass)
    energy.add(PowerSample(battery_power=3600, grid_power=3600), at(0))
    energy.add(PowerSample(battery_power=None, grid_power=3600), at(10))
    counters = energy.add(PowerSample(battery_power=float("nan"), grid_power=3600), at(20))
    assert counters.battery_discharged_energy == 0
    assert counters.grid_imported_energy == pytest.approx(20.0)
    counters = energy.add(PowerSample(battery_power=3600, grid_power=3600), at(30))
    counters = energy.add(PowerSample(battery_power=3600, grid_power=3600), at(40))
    assert counters.battery_discharged_energy == pytest.approx(10.0)


async def test_stored_and_continued(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """Totals and the last sample are stored; a new integrator continues from them."""
    energy = integrator(hass)
    energy.add(PowerSample(battery_power=3600), at(0))
    energy.add(PowerSample(battery_power=3600), at(10))
    await energy.async_save()
    assert hass_storage[KEY]["data"]["counters"]["battery_discharged_energy"] == pytest.approx(10)
    again = integrator(hass)
    await again.async_load()
    assert again.counters.battery_discharged_energy == pytest.approx(10)
    # Within the gap of the stored sample: a short restart loses nothing.
    counters = again.add(PowerSample(battery_power=3600), at(20))
    assert counters.battery_discharged_energy == pytest.approx(20)


async def test_saves_after_a_delay(
    hass: HomeAssistant, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    """Polls do not write storage each time; a delayed save follows."""
    energy = integrator(hass)
    energy.add(PowerSample(production_power=100), dt_util.utcnow())
    assert KEY not in hass_storage
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage[KEY]["data"]["counters"]["produced_energy"] == 0


@pytest.mark.parametrize(
    "stored",
    [
        None,
        [],
        {"counters": "x", "last": "y"},
        {
            "counters": {"produced_energy": -5, "consumed_energy": "7", "bogus": 1},
            "last": {"at": "yesterday", "powers": {"production_power": "x"}},
        },
        {"counters": {}, "last": {"at": "2026-05-01T12:00:00", "powers": {}}},  # no zone
    ],
)
async def test_unusable_storage_starts_afresh(
    hass: HomeAssistant, hass_storage: dict[str, Any], stored: Any
) -> None:
    """A damaged or foreign store never becomes a counter value."""
    hass_storage[KEY] = {"version": 1, "minor_version": 1, "key": KEY, "data": stored}
    energy = integrator(hass)
    await energy.async_load()
    assert energy.counters == EnergyCounters()
    counters = energy.add(PowerSample(production_power=100), at(0))
    assert counters.produced_energy == 0
