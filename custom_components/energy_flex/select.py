"""Selects: choices a vendor lets the user make on a controllable device (e.g. a mode)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EnergyFlexConfigEntry
from .descriptions.settings import EnergyFlexSelectDescription
from .device import EnergyFlexDevice
from .entity import EnergyFlexControlEntity, async_add_device_entities

# Choices go through the device's controller or vendor, which serialise writes themselves.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the vendor's selects for every device that can be controlled."""
    runtime = entry.runtime_data

    def build(device: EnergyFlexDevice) -> list[EnergyFlexSelect]:
        if device.controller is None:
            return []
        return [
            EnergyFlexSelect(runtime.coordinator, device, description, device.controller)
            for description in runtime.selects
            if device.offers(description.key)
        ]

    async_add_device_entities(entry, async_add_entities, build)


class EnergyFlexSelect(EnergyFlexControlEntity, SelectEntity):
    """Shows the device's current choice and changes it."""

    entity_description: EnergyFlexSelectDescription

    @property
    def current_option(self) -> str | None:
        """The choice from the last poll; unknown when the device does not say."""
        option = self.entity_description.current_fn(self.device_data)
        return option if option in self.options else None

    async def async_select_option(self, option: str) -> None:
        """Make the choice through the vendor."""
        await self.entity_description.select_fn(self._device, option)
