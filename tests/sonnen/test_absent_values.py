"""Status keys a firmware never sends get no entity; keys sent as null keep theirs."""

from __future__ import annotations

from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.energy_flex.api.sonnen import SonnenStatus, parse_status
from custom_components.energy_flex.const import DOMAIN
from custom_components.energy_flex.energy_integrator import EnergyCounters
from custom_components.energy_flex.vendors.sonnen.entities import (
    SONNEN_BINARY_SENSORS,
    SONNEN_SENSORS,
    SonnenData,
)
from simulators.sonnen import SonnenSimulator

from .conftest import SERIAL, FakeClock, make_sonnen, setup_sonnen_entry


def test_status_remembers_which_keys_were_sent() -> None:
    """null is sent (undefined now); a missing key is not."""
    status = parse_status({"USOC": 40, "Apparent_output": None})
    assert status.keys == frozenset({"USOC", "Apparent_output"})
    assert status.sent("Apparent_output")
    assert not status.sent("USOC", "Fac")
    assert SonnenStatus().sent("Fac")  # not known: counts as sent


def test_grid_power_needs_feed_in_or_the_three_powers() -> None:
    """Grid power (and its counters) exist with GridFeedIn_W, or with what derives it."""
    counters = EnergyCounters()
    grid = next(d for d in SONNEN_SENSORS if d.key == "grid_power")
    imported = next(d for d in SONNEN_SENSORS if d.key == "grid_imported_energy")

    def data(*keys: str) -> SonnenData:
        return SonnenData(status=parse_status(dict.fromkeys(keys, 0)), energy=counters)

    for description in (grid, imported):
        assert description.has_fn(data("GridFeedIn_W"))
        assert description.has_fn(data("Consumption_W", "Production_W", "Pac_total_W"))
        assert not description.has_fn(data("Consumption_W", "Production_W"))
    everything = data(*_ALL_KEYS)
    assert all(d.has_fn(everything) for d in (*SONNEN_SENSORS, *SONNEN_BINARY_SENSORS))


_ALL_KEYS = [
    "Apparent_output",
    "BackupBuffer",
    "BatteryCharging",
    "BatteryDischarging",
    "Consumption_Avg",
    "Consumption_W",
    "Fac",
    "FlowConsumptionBattery",
    "FlowConsumptionGrid",
    "FlowConsumptionProduction",
    "FlowGridBattery",
    "FlowProductionBattery",
    "FlowProductionGrid",
    "GridFeedIn_W",
    "OperatingMode",
    "Pac_total_W",
    "Production_W",
    "RSOC",
    "RemainingCapacity_W",
    "SystemStatus",
    "USOC",
    "Uac",
    "Ubat",
    "dischargeNotAllowed",
]


async def test_key_gone_after_setup_keeps_its_entity(
    hass: HomeAssistant, clock: FakeClock, entity_registry: er.EntityRegistry
) -> None:
    """Judged on the first poll only: a key the unit stops sending shows unknown."""
    async with make_sonnen(clock=clock) as simulator:
        entry = await setup_sonnen_entry(hass, simulator)
        simulator.removed.add("Fac")
        await entry.runtime_data.coordinator.async_refresh()
        frequency = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_ac_frequency")
        assert frequency is not None
        assert hass.states.is_state(frequency, STATE_UNKNOWN)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_null_key_keeps_its_entity(
    hass: HomeAssistant, sonnen: SonnenSimulator, entity_registry: er.EntityRegistry
) -> None:
    """eu_current sends Apparent_output as null: the (disabled) entity exists."""
    await setup_sonnen_entry(hass, sonnen)
    apparent = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_apparent_power")
    assert apparent is not None
