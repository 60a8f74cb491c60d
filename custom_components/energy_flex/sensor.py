"""Sensors: what the device measures, one description list per vendor."""

from __future__ import annotations

from homeassistant.components.sensor import (
    SensorEntity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import EnergyFlexConfigEntry
from .descriptions import EnergyFlexSensorDescription
from .entity import EnergyFlexEntity, device_has

PARALLEL_UPDATES = 0  # the coordinator polls; entities only read its data


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every sensor the entry's vendor describes that each of its devices has."""
    runtime = entry.runtime_data
    async_add_entities(
        EnergyFlexSensor(runtime.coordinator, device, description)
        for device in runtime.devices
        for description in runtime.sensors
        if device_has(runtime.coordinator, device, description)
    )


class EnergyFlexSensor(EnergyFlexEntity, SensorEntity):
    """A measured value; `None` from the device shows as unknown, never as 0."""

    entity_description: EnergyFlexSensorDescription

    @property
    def native_value(self) -> StateType:
        """The value from the last poll."""
        return self.entity_description.value_fn(self.device_data)
