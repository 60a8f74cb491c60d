"""Entity values, units and classes of a FEMS read over REST; unknown and unavailable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import DOMAIN
from simulators.fems_rest import FemsRestSimulator

from .conftest import HOSTNAME

ENTITY = "sensor.fems_fems12345_"


def state(hass: HomeAssistant, key: str) -> str:
    """The state of one of the FEMS sensors by its entity-id suffix."""
    value = hass.states.get(ENTITY + key)
    assert value is not None, key
    return value.state


async def test_values_follow_the_device(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """Each sensor shows the simulated battery's value, in Home Assistant's sign."""
    battery = fems.battery
    assert float(state(hass, "state_of_charge")) == pytest.approx(battery.soc, abs=1)
    # Self-consumption with 2 kW PV and 1 kW load: the battery charges the surplus.
    assert float(state(hass, "battery_power")) < 0
    assert float(state(hass, "battery_charge_power")) > 0
    assert float(state(hass, "battery_discharge_power")) == 0
    assert float(state(hass, "production_power")) == pytest.approx(2000)
    assert float(state(hass, "consumption_power")) == pytest.approx(1000)
    assert float(state(hass, "usable_capacity")) == pytest.approx(10)  # kWh
    assert float(state(hass, "stored_energy")) == pytest.approx(battery.soc / 10, abs=0.1)
    assert float(state(hass, "battery_charged_energy")) == pytest.approx(
        battery.charged_wh / 1000, rel=1e-3
    )
    assert state(hass, "grid_mode") == "on_grid"
    assert state(hass, "system_state") == "ok"


@pytest.mark.parametrize(
    ("key", "device_class", "unit", "state_class"),
    [
        ("state_of_charge", SensorDeviceClass.BATTERY, "%", SensorStateClass.MEASUREMENT),
        ("grid_power", SensorDeviceClass.POWER, "W", SensorStateClass.MEASUREMENT),
        (
            "battery_charged_energy",
            SensorDeviceClass.ENERGY,
            "kWh",
            SensorStateClass.TOTAL_INCREASING,
        ),
        (
            "battery_discharged_energy",
            SensorDeviceClass.ENERGY,
            "kWh",
            SensorStateClass.TOTAL_INCREASING,
        ),
        (
            "grid_imported_energy",
            SensorDeviceClass.ENERGY,
            "kWh",
            SensorStateClass.TOTAL_INCREASING,
        ),
        (
            "grid_exported_energy",
            SensorDeviceClass.ENERGY,
            "kWh",
            SensorStateClass.TOTAL_INCREASING,
        ),
        ("produced_energy", SensorDeviceClass.ENERGY, "kWh", SensorStateClass.TOTAL_INCREASING),
        ("consumed_energy", SensorDeviceClass.ENERGY, "kWh", SensorStateClass.TOTAL_INCREASING),
        ("stored_energy", SensorDeviceClass.ENERGY_STORAGE, "kWh", SensorStateClass.MEASUREMENT),
    ],
)
async def test_classes_fit_the_energy_dashboard(
    hass: HomeAssistant,
    fems_entry: MockConfigEntry,
    key: str,
    device_class: SensorDeviceClass,
    unit: str,
    state_class: SensorStateClass,
) -> None:
    """Power and energy sensors carry the classes the Energy dashboard needs."""
    value = hass.states.get(ENTITY + key)
    assert value is not None
    assert value.attributes[ATTR_DEVICE_CLASS] == device_class
    assert value.attributes[ATTR_UNIT_OF_MEASUREMENT] == unit
    assert value.attributes["state_class"] == state_class


async def test_grid_sign_is_import_positive(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """A grid import shows positive, matching the device's `_sum/GridActivePower`."""
    fems.overrides["_sum/GridActivePower"] = 1234
    await fems_entry.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "grid_power")) == 1234
    fems.overrides["_sum/GridActivePower"] = -800
    await fems_entry.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "grid_power")) == -800


async def test_undefined_values_are_unknown_not_zero(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """Null values and GridMode -1 show as unknown."""
    fems.undefined.update({"_sum/EssSoc", "_sum/GridActivePower", "_sum/EssDcChargeEnergy"})
    fems.overrides["_sum/GridMode"] = -1  # UNDEFINED option
    await fems_entry.runtime_data.coordinator.async_refresh()
    for key in (
        "state_of_charge",
        "grid_power",
        "battery_charged_energy",
        "stored_energy",
        "grid_mode",
    ):
        assert state(hass, key) == STATE_UNKNOWN, key


async def test_strings_and_nan_are_unknown_or_numbers(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """A numeric string is a number; text is unknown, never a wrong value."""
    fems.overrides["_sum/EssSoc"] = "61"
    fems.overrides["_sum/GridActivePower"] = "garbage"
    fems.overrides["_sum/State"] = 9  # not a Level option
    await fems_entry.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "state_of_charge")) == 61
    assert state(hass, "grid_power") == STATE_UNKNOWN
    assert state(hass, "system_state") == STATE_UNKNOWN


async def test_offline_device_is_unavailable_and_recovers(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Errors make entities unavailable with one log line; the next good poll recovers.

    After three failures in a row the next poll waits 40 s (back-off), not 10 s.
    """
    fems.faults.error_status = 503
    for _ in range(3):
        await fems_entry.runtime_data.coordinator.async_refresh()
    assert state(hass, "state_of_charge") == STATE_UNAVAILABLE
    assert caplog.text.count("Error fetching") == 1
    fems.faults.reset()
    freezer.tick(timedelta(seconds=41))
    async_fire_time_changed(hass)
    # The scheduled poll runs as a background task of the entry.
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "state_of_charge") != STATE_UNAVAILABLE


async def test_malformed_answer_makes_entities_unavailable(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """A body that is not JSON never becomes a value."""
    fems.faults.malformed_body = True
    await fems_entry.runtime_data.coordinator.async_refresh()
    assert state(hass, "state_of_charge") == STATE_UNAVAILABLE


async def test_device_identity_is_the_hostname(
    hass: HomeAssistant,
    fems_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The device is identified by the FEMS hostname and carries its version."""
    device = device_registry.async_get_device_by_identifier((DOMAIN, HOSTNAME), fems_entry.entry_id)
    assert device is not None
    assert device.name == f"FEMS {HOSTNAME}"
    assert (device.manufacturer, device.model) == ("FENECON", "FEMS (local REST)")
    assert device.sw_version == "2026.5.0"
    # "Visit" opens the FEMS web interface on port 80, not the REST API's port 8084.
    assert device.configuration_url == "http://127.0.0.1"
    entity = entity_registry.async_get(ENTITY + "state_of_charge")
    assert entity is not None
    assert entity.unique_id == f"{HOSTNAME}_state_of_charge"
