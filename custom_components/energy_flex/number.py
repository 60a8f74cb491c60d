"""Numbers: setpoints a vendor lets the user hold (battery power, power limits)."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberEntity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EnergyFlexConfigEntry
from .descriptions import EnergyFlexNumberDescription
from .entity import EnergyFlexControlEntity

# Writes go through the controller, which serialises them per device itself.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the vendor's setpoint numbers for every device that can be controlled."""
    runtime = entry.runtime_data
    async_add_entities(
        EnergyFlexSetpointNumber(runtime.coordinator, device, description, device.controller)
        for device in runtime.devices
        if device.controller is not None
        for description in runtime.numbers
    )


class EnergyFlexSetpointNumber(EnergyFlexControlEntity, NumberEntity):
    """Shows the held setpoint (unknown while the device runs on its own) and sets it."""

    entity_description: EnergyFlexNumberDescription

    @property
    def available(self) -> bool:
        """Settable only while the device says what it accepts."""
        return super().available and self._range is not None

    @property
    def _range(self) -> tuple[float, float] | None:
        return self.controller.allowed_range(self.entity_description.kind)

    @property
    def native_min_value(self) -> float:
        """The device's current lower bound."""
        return self._range[0] if self._range else 0.0

    @property
    def native_max_value(self) -> float:
        """The device's current upper bound."""
        return self._range[1] if self._range else 0.0

    @property
    def native_value(self) -> float | None:
        """The held value, or unknown when nothing is held."""
        return self.controller.held(self.entity_description.kind)

    async def async_set_native_value(self, value: float) -> None:
        """Hold `value` until released (the number sets no duration)."""
        await self.controller.async_set(self.entity_description.kind, value)
