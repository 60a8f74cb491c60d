"""An entry made by an earlier version keeps its title and entity ids; device info updates."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import DOMAIN
from simulators.fems_modbus import FemsModbusSimulator

from .conftest import EMS_SERIAL, TITLE, entry_data

# What earlier versions created: long names made these ids, and `_meta` gave the model.
OLD_BATTERY_POWER = "sensor.fems_ems0042123_battery_power_discharge_charge"
OLD_SETPOINT = "number.fems_ems0042123_battery_power_setpoint_discharge_charge"


async def test_existing_ids_and_title_stay_device_info_updates(
    hass: HomeAssistant,
    sim: FemsModbusSimulator,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Entity ids are the user's once created: only names and device info change."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=EMS_SERIAL, title=TITLE, data=entry_data(sim))
    entry.add_to_hass(hass)
    device = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, EMS_SERIAL)},
        manufacturer="FENECON GmbH",
        model="FEMS Home 10",
        name=TITLE,
    )
    for platform, entity_id, key in (
        ("sensor", OLD_BATTERY_POWER, "battery_power"),
        ("number", OLD_SETPOINT, "battery_power_setpoint"),
    ):
        object_id = entity_id.split(".", 1)[1]
        created = entity_registry.async_get_or_create(
            platform,
            DOMAIN,
            f"{EMS_SERIAL}_{key}",
            config_entry=entry,
            device_id=device.id,
            suggested_object_id=object_id,
        )
        assert created.entity_id == entity_id

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.title == TITLE  # titles are the user's: no "(local Modbus)" added
    power = hass.states.get(OLD_BATTERY_POWER)
    assert power is not None
    assert float(power.state) == -1000
    assert power.attributes["friendly_name"] == f"FEMS {EMS_SERIAL} Battery power"
    setpoint = hass.states.get(OLD_SETPOINT)
    assert setpoint is not None
    assert setpoint.attributes["friendly_name"] == f"FEMS {EMS_SERIAL} Battery power setpoint"
    # No second entity under a new, short id.
    assert hass.states.get("sensor.fems_ems0042123_battery_power") is None
    updated = device_registry.async_get(device.id)
    assert updated is not None
    assert (updated.manufacturer, updated.model, updated.model_id) == (
        "FENECON",
        "FEMS (local Modbus)",
        "FEMS Home 10",
    )
    assert updated.configuration_url == "http://127.0.0.1"
