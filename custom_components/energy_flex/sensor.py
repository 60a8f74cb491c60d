"""Sensors: what the device measures, one description list per vendor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import EnergyFlexConfigEntry
from .entity import EnergyFlexEntity

PARALLEL_UPDATES = 0  # the coordinator polls; entities only read its data


@dataclass(frozen=True, kw_only=True)
class EnergyFlexSensorDescription(SensorEntityDescription):
    """A sensor and how to read it from its device's data."""

    value_fn: Callable[[Any], StateType]


# Builders for the common keys (DESIGN §3), so every vendor's battery looks the same.


def state_of_charge_sensor(value_fn: Callable[[Any], StateType]) -> EnergyFlexSensorDescription:
    """`state_of_charge` in %."""
    return EnergyFlexSensorDescription(
        key="state_of_charge",
        translation_key="state_of_charge",
        native_unit_of_measurement=PERCENTAGE,
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=value_fn,
    )


def power_sensor(
    key: str,
    value_fn: Callable[[Any], StateType],
    *,
    entity_category: EntityCategory | None = None,
    enabled: bool = True,
) -> EnergyFlexSensorDescription:
    """A power in W, selectable in the Energy dashboard."""
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=entity_category,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


def energy_counter(key: str, value_fn: Callable[[Any], StateType]) -> EnergyFlexSensorDescription:
    """A total-increasing energy counter in Wh, shown in kWh, for the Energy dashboard."""
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=value_fn,
    )


def stored_energy_sensor(
    key: str,
    value_fn: Callable[[Any], StateType],
    *,
    entity_category: EntityCategory | None = None,
) -> EnergyFlexSensorDescription:
    """Energy held in (or fitting into) the battery, in Wh shown as kWh."""
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=entity_category,
        value_fn=value_fn,
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every sensor the entry's vendor describes, for each of its devices."""
    runtime = entry.runtime_data
    async_add_entities(
        EnergyFlexSensor(runtime.coordinator, device, description)
        for device in runtime.devices
        for description in runtime.sensors
    )


class EnergyFlexSensor(EnergyFlexEntity, SensorEntity):
    """A measured value; `None` from the device shows as unknown, never as 0."""

    entity_description: EnergyFlexSensorDescription

    @property
    def native_value(self) -> StateType:
        """The value from the last poll."""
        return self.entity_description.value_fn(self.device_data)
