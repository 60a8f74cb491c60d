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
from .device import EnergyFlexDevice
from .entity import EnergyFlexEntity, async_add_device_entities, device_has

PARALLEL_UPDATES = 0  # the coordinator polls; entities only read its data


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every sensor the entry's vendor describes that each of its devices has."""
    runtime = entry.runtime_data

    def build(device: EnergyFlexDevice) -> list[EnergyFlexSensor]:
        return [
            EnergyFlexSensor(runtime.coordinator, device, description)
            for description in runtime.sensors
            if device.offers(description.key)
            and device_has(runtime.coordinator, device, description)
        ]

    async_add_device_entities(entry, async_add_entities, build)


class EnergyFlexSensor(EnergyFlexEntity, SensorEntity):
    """A measured value; `None` from the device shows as unknown, never as 0."""

    entity_description: EnergyFlexSensorDescription

    async def async_added_to_hass(self) -> None:
        """Also follow a value that changes between polls, if the description has one."""
        await super().async_added_to_hass()
        if (listen := self.entity_description.listen_fn) is not None:
            self.async_on_remove(listen(self.async_write_ha_state))

    @property
    def native_value(self) -> StateType:
        """The value from the last poll."""
        return self.entity_description.value_fn(self.device_data)
