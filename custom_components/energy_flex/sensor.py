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
from .entity import EnergyFlexEntity

PARALLEL_UPDATES = 0  # the coordinator polls; entities only read its data


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

    def _shown(self) -> object:
        """A sensor's state follows its value and availability alone (no dynamic attributes).

        The type counts, too: 5 and 5.0 are equal but are written as "5" and "5.0".
        """
        if not self.available:
            return False
        value = self.native_value
        return (value.__class__, value)
