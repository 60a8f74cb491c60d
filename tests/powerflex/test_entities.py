"""PowerFlex devices and entities: the site and its stations, units for the Energy
dashboard, translated charging states, stations that appear and stations that go."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.api.powerflex import ChargingState
from custom_components.energy_flex.const import DOMAIN
from custom_components.energy_flex.vendors.powerflex.stations import STALE_AFTER
from simulators.powerflex import PowerFlexSimulator

from .conftest import (
    SITE,
    SITE_IDENTITY,
    add_entry,
    entity_id,
    setup_entry,
    state,
    station_identity,
    tick,
)

TRANSLATIONS = Path(__file__).resolve().parents[2] / "custom_components/energy_flex/translations"
ONE_CAR_W = 32 * 240


def device(hass: HomeAssistant, identity: str) -> dr.DeviceEntry | None:
    """The registry device of an identity."""
    found = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, identity)})
    return found[0] if found else None


def station_stores(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    """What the station tracker stored."""
    return hass_storage[f"{DOMAIN}.powerflex_stations.{entry.entry_id}"]["data"]


async def test_site_and_station_devices(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, site_entry: MockConfigEntry
) -> None:
    """One site device; one device per station of site 3 only, linked to the site."""
    site = device(hass, SITE_IDENTITY)
    assert site is not None
    assert (site.manufacturer, site.model, site.name) == (
        "PowerFlex",
        "EV charging site",
        "PowerFlex site 3",
    )
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), site_entry.entry_id)
    assert len(devices) == 4  # the site and its 3 stations; site 4's 2 are not ours
    for acs_id in (1, 2, 3):
        station = device(hass, station_identity(acs_id))
        assert station is not None
        assert station.via_device_id == site.id
        assert station.name == f"PowerFlex site 3 station {acs_id}"
        assert station.model == "AeroVironment"
    site_entities = {
        entity.unique_id.removeprefix(f"{SITE_IDENTITY}_")
        for entity in er.async_entries_for_device(er.async_get(hass), site.id)
    }
    assert site_entities == {
        "site_charging_power",
        "dcm_max_load",
        "dcm_enabled",
        "target_peak_power",
    }


async def test_charging_station_values(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """A 32 A car at 240 V: W, A, V, kWh, states, flags; the site sums its stations."""
    site_sim.plug_in(SITE, 1)
    await tick(hass, freezer, 30)
    assert state(hass, "sensor", "charging_power", 1) == str(float(ONE_CAR_W))
    assert state(hass, "sensor", "charging_current", 1) == "32.0"
    assert state(hass, "sensor", "charging_voltage", 1) == "240.0"
    assert state(hass, "sensor", "current_limit", 1) == "32.0"
    assert state(hass, "sensor", "charging_state", 1) == "adaptive"
    assert state(hass, "binary_sensor", "vehicle_connected", 1) == STATE_ON
    assert state(hass, "binary_sensor", "contactor_closed", 1) == STATE_ON
    assert state(hass, "sensor", "charging_state", 2) == "unplugged"
    assert state(hass, "binary_sensor", "vehicle_connected", 2) == STATE_OFF
    assert state(hass, "sensor", "site_charging_power") == str(float(ONE_CAR_W))
    first = float(state(hass, "sensor", "session_energy", 1))
    await tick(hass, freezer, 30 * 60)
    energy = float(state(hass, "sensor", "session_energy", 1))
    # Half an hour at 7.68 kW, give or take a report step.
    assert energy - first == pytest.approx(ONE_CAR_W / 2 / 1000, abs=0.05)


@pytest.mark.parametrize("power_unit", ["kW", "mW", "W"])
async def test_power_unit_of_the_service_is_found(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    power_unit: Any,
) -> None:
    """Whatever unit `power` comes in, the sensors show W (cross-checked with V × A)."""
    site_sim.power_unit = power_unit
    entry = await setup_entry(hass, site_sim)
    site_sim.plug_in(SITE, 2)
    await tick(hass, freezer, 30)
    assert state(hass, "sensor", "charging_power", 2) == str(float(ONE_CAR_W))
    await hass.config_entries.async_unload(entry.entry_id)


async def test_units_and_classes_for_the_energy_dashboard(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """Power in W (measurement), session energy in kWh (total_increasing)."""
    for key, station in (("charging_power", 1), ("site_charging_power", None)):
        power = hass.states.get(entity_id(hass, "sensor", key, station))
        assert power is not None
        assert power.attributes["unit_of_measurement"] == "W"
        assert power.attributes["device_class"] == "power"
        assert power.attributes["state_class"] == "measurement"
    energy = hass.states.get(entity_id(hass, "sensor", "session_energy", 1))
    assert energy is not None
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["state_class"] == "total_increasing"


async def test_charging_state_is_a_translated_enum(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    """The five states, each with a name in English and German."""
    charging_state = hass.states.get(entity_id(hass, "sensor", "charging_state", 1))
    assert charging_state is not None
    options = [member.value for member in ChargingState]
    assert options == ["unplugged", "adaptive", "idle", "ready", "not_charging"]
    assert charging_state.attributes["device_class"] == "enum"
    assert charging_state.attributes["options"] == options
    for language in ("en", "de"):
        strings = json.loads((TRANSLATIONS / f"{language}.json").read_text())
        assert set(strings["entity"]["sensor"]["charging_state"]["state"]) == set(options)


async def test_undefined_values_are_unknown_not_zero(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Missing or impossible fields show unknown; the site total is unknown then too."""
    site_sim.row_overrides[("ct_response", SITE, 3)] = {
        "power": None,
        "mamps_actual": "lots",
        "energy_delivered": -5,
        "charging_state": "WARP DRIVE",
    }
    site_sim.row_overrides[("evse_response", SITE, 3)] = {"charging_state": None}
    await tick(hass, freezer, 30)
    assert state(hass, "sensor", "charging_power", 3) == STATE_UNKNOWN
    assert state(hass, "sensor", "charging_current", 3) == STATE_UNKNOWN
    assert state(hass, "sensor", "session_energy", 3) == STATE_UNKNOWN
    assert state(hass, "sensor", "charging_state", 3) == STATE_UNKNOWN
    assert state(hass, "sensor", "site_charging_power") == STATE_UNKNOWN
    assert state(hass, "sensor", "charging_power", 1) == "0.0"


async def test_new_station_appears_without_a_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """A station that starts reporting gets its device and entities at the next poll."""
    site_sim.add_station(SITE, 7, evse_type="Tesla")
    site_sim.plug_in(SITE, 7)
    await tick(hass, freezer, 30)
    assert site_entry.state is ConfigEntryState.LOADED
    station = device(hass, station_identity(7))
    assert station is not None
    assert station.model == "Tesla"
    assert station.via_device_id == device(hass, SITE_IDENTITY).id  # type: ignore[union-attr]
    assert state(hass, "sensor", "charging_power", 7) == str(float(ONE_CAR_W))
    assert state(hass, "binary_sensor", "vehicle_connected", 7) == STATE_ON
    # Created once: later polls add nothing twice.
    await tick(hass, freezer, 30)
    registry = er.async_get(hass)
    assert len(er.async_entries_for_device(registry, station.id)) == 8
    assert station_identity(7) in [d.identity for d in site_entry.runtime_data.devices]


async def test_absent_station_unavailable_then_removed_after_7_days(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Not reporting: unavailable at once, kept for 7 days, then removed with its entities."""
    assert timedelta(days=7) == STALE_AFTER
    power = entity_id(hass, "sensor", "charging_power", 2)
    site_sim.remove_station(SITE, 2)
    await tick(hass, freezer, 90)
    assert state(hass, "sensor", "charging_power", 2) == STATE_UNAVAILABLE
    assert state(hass, "sensor", "charging_power", 1) == "0.0"
    await tick(hass, freezer, STALE_AFTER.total_seconds() - 3600)
    assert device(hass, station_identity(2)) is not None
    assert hass.states.get(power) is not None
    await tick(hass, freezer, 3600)
    assert device(hass, station_identity(2)) is None
    assert er.async_get(hass).async_get(power) is None
    assert hass.states.get(power) is None
    assert device(hass, station_identity(1)) is not None
    assert [d.identity for d in site_entry.runtime_data.devices] == [
        SITE_IDENTITY,
        station_identity(1),
        station_identity(3),
    ]
    await tick(hass, freezer, 1)  # the store writes on the next timer tick
    stored = station_stores(hass_storage, site_entry)
    assert set(stored) == {"1", "3"}


async def test_removed_station_that_returns_is_added_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Dynamic both ways: gone for good, then back as a new device."""
    site_sim.remove_station(SITE, 3)
    await tick(hass, freezer, 90)
    await tick(hass, freezer, STALE_AFTER.total_seconds())
    assert device(hass, station_identity(3)) is None
    site_sim.add_station(SITE, 3)
    await tick(hass, freezer, 30)
    assert device(hass, station_identity(3)) is not None
    assert state(hass, "sensor", "charging_state", 3) == "unplugged"


async def test_outage_removes_no_station(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Polls that fail say nothing about the stations: none is removed meanwhile."""
    site_sim.faults.error_status = 503
    await tick(hass, freezer, 30)
    assert state(hass, "sensor", "charging_power", 1) == STATE_UNAVAILABLE
    await tick(hass, freezer, STALE_AFTER.total_seconds() + 60)
    assert device(hass, station_identity(1)) is not None


async def test_absent_stations_are_remembered_across_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """Stored stations come back unavailable; one whose time ran out while stopped goes."""
    entry = add_entry(hass, site_sim)
    now = dt_util.utcnow()
    key = f"{DOMAIN}.powerflex_stations.{entry.entry_id}"
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "5": {"last_seen": (now - timedelta(days=2)).isoformat(), "model": "Tesla"},
            "6": {"last_seen": (now - timedelta(days=8)).isoformat(), "model": None},
            "x": {"last_seen": now.isoformat(), "model": None},
            "8": {"seen": "garbage"},
        },
    }
    # Station 6 was in the registry from the earlier run.
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, station_identity(6))}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, "sensor", "charging_power", 5) == STATE_UNAVAILABLE
    station = device(hass, station_identity(5))
    assert station is not None
    assert station.model == "Tesla"
    assert device(hass, station_identity(6)) is None
    assert state(hass, "sensor", "charging_power", 1) == "0.0"
    await tick(hass, freezer, 5 * 24 * 3600)
    assert device(hass, station_identity(5)) is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_station_device_in_use_cannot_be_deleted(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Deleting a device by hand is allowed only for stations the entry no longer has."""
    from custom_components.energy_flex import async_remove_config_entry_device  # noqa: PLC0415

    station = device(hass, station_identity(1))
    assert station is not None
    assert not await async_remove_config_entry_device(hass, site_entry, station)
    site_sim.remove_station(SITE, 1)
    await tick(hass, freezer, 90)
    await tick(hass, freezer, STALE_AFTER.total_seconds())
    leftover = dr.async_get(hass).async_get_or_create(
        config_entry_id=site_entry.entry_id, identifiers={(DOMAIN, station_identity(1))}
    )
    assert await async_remove_config_entry_device(hass, site_entry, leftover)
