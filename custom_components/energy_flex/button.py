"""Button: hand control back to the device."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import KEY_RELEASE_CONTROL
from .coordinator import EnergyFlexConfigEntry
from .device import EnergyFlexDevice
from .entity import EnergyFlexControlEntity, async_add_device_entities

PARALLEL_UPDATES = 0

RELEASE_CONTROL = ButtonEntityDescription(
    key=KEY_RELEASE_CONTROL, translation_key="release_control"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add `release_control` to every device that can be controlled."""
    runtime = entry.runtime_data

    def build(device: EnergyFlexDevice) -> list[ReleaseControlButton]:
        if device.controller is None:
            return []
        return [
            ReleaseControlButton(runtime.coordinator, device, RELEASE_CONTROL, device.controller)
        ]

    async_add_device_entities(entry, async_add_entities, build)


class ReleaseControlButton(EnergyFlexControlEntity, ButtonEntity):
    """Releases every setpoint Energy Flex holds on the device."""

    async def async_press(self) -> None:
        """Release now."""
        await self.controller.async_release()
