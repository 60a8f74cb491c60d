"""The Energy dashboard scripts/develop fills in, accepted and stored by Home Assistant."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from scripts.develop_bootstrap import (
    CommandError,
    HassWebSocket,
    ensure_energy_prefs,
    fetch_devices,
)
from scripts.develop_dashboard import build_energy_prefs

FEMS = "fems_fems12345"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Any, enable_custom_integrations: None, socket_enabled: None
) -> Iterator[None]:
    """As tests/conftest.py, with the recorder (energy needs it) set up before hass."""
    # The test plugin logs every SQL statement; this test is not about the database.
    engine_logger = logging.getLogger("sqlalchemy.engine")
    level = engine_logger.level
    engine_logger.setLevel(logging.WARNING)
    yield
    engine_logger.setLevel(level)


@pytest.fixture
async def energy(hass: HomeAssistant) -> None:
    """Home Assistant's energy integration."""
    assert await async_setup_component(hass, "energy", {})


async def test_energy_prefs_of_the_fems_are_saved_and_read_back(
    energy: None, hass: HomeAssistant, fems_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """Grid import/export, solar and the battery of the FEMS, with its power sensors."""
    devices = await fetch_devices(ws)
    prefs = build_energy_prefs(devices)
    assert prefs is not None
    assert "configured" in await ensure_energy_prefs(ws, devices)

    stored = await ws.call("energy/get_prefs")
    grid, solar, battery = stored["energy_sources"]
    assert grid["type"] == "grid"
    assert grid["stat_energy_from"] == f"sensor.{FEMS}_grid_imported_energy"
    assert grid["stat_energy_to"] == f"sensor.{FEMS}_grid_exported_energy"
    # Grid + import and battery + discharge: Home Assistant's signs, no inversion.
    assert grid["stat_rate"] == f"sensor.{FEMS}_grid_power"
    assert solar == {
        "type": "solar",
        "stat_energy_from": f"sensor.{FEMS}_produced_energy",
        "stat_rate": f"sensor.{FEMS}_production_power",
        "config_entry_solar_forecast": None,
    }
    assert battery["type"] == "battery"
    assert battery["stat_energy_from"] == f"sensor.{FEMS}_battery_discharged_energy"
    assert battery["stat_energy_to"] == f"sensor.{FEMS}_battery_charged_energy"
    assert battery["stat_rate"] == f"sensor.{FEMS}_battery_power"
    assert battery["stat_soc"] == f"sensor.{FEMS}_state_of_charge"
    # Every entity the prefs name exists in Home Assistant.
    for source in stored["energy_sources"]:
        for key in ("stat_energy_from", "stat_energy_to", "stat_rate", "stat_soc"):
            if key in source:
                assert hass.states.get(source[key]) is not None, source[key]


async def test_energy_prefs_that_exist_are_left_alone(
    energy: None, hass: HomeAssistant, fems_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """A second start (or the user's own choice) is not overwritten."""
    mine = {
        "type": "grid",
        "stat_energy_from": f"sensor.{FEMS}_consumed_energy",
        "cost_adjustment_day": 0,
    }
    await ws.call("energy/save_prefs", energy_sources=[mine])
    answer = await ensure_energy_prefs(ws, await fetch_devices(ws))
    assert "already configured" in answer
    stored = await ws.call("energy/get_prefs")
    assert [source["stat_energy_from"] for source in stored["energy_sources"]] == [
        f"sensor.{FEMS}_consumed_energy"
    ]


async def test_no_device_with_counters_leaves_the_energy_dashboard_empty(
    energy: None, hass: HomeAssistant, ws: HassWebSocket
) -> None:
    """Without a device that has the counters, nothing is saved and the reason is said."""
    assert build_energy_prefs([]) is None
    assert "WARNING" in await ensure_energy_prefs(ws, await fetch_devices(ws))
    with pytest.raises(CommandError) as caught:
        await ws.call("energy/get_prefs")
    assert caught.value.code == "not_found"
