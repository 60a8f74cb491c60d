"""Switches: on/off settings a device keeps (e.g. whether an EV site's power cap applies)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EnergyFlexConfigEntry
from .descriptions.settings import EnergyFlexSwitchDescription
from .device import EnergyFlexDevice
from .entity import EnergyFlexEntity, async_add_device_entities

# Writes go through the vendor, which serialises them per device itself.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the vendor's switches for each of its devices."""
    runtime = entry.runtime_data

    def build(device: EnergyFlexDevice) -> list[EnergyFlexSwitch]:
        return [
            EnergyFlexSwitch(runtime.coordinator, device, description)
            for description in runtime.switches
            if device.offers(description.key)
        ]

    async_add_device_entities(entry, async_add_entities, build)


class EnergyFlexSwitch(EnergyFlexEntity, SwitchEntity):
    """Shows the setting from the last poll; switching writes it once."""

    entity_description: EnergyFlexSwitchDescription

    @property
    def available(self) -> bool:
        """Unavailable while the device does not report the setting."""
        return super().available and self.is_on is not None

    @property
    def is_on(self) -> bool | None:
        """The setting from the last poll."""
        return self.entity_description.is_on_fn(self.device_data)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the setting on."""
        await self.entity_description.set_fn(self._device, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch the setting off."""
        await self.entity_description.set_fn(self._device, False)
