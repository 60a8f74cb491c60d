"""Numbers: setpoints a vendor lets the user hold, and settings a device keeps."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EnergyFlexConfigEntry
from .descriptions import EnergyFlexNumberDescription
from .descriptions.settings import EnergyFlexSettingNumberDescription
from .device import EnergyFlexDevice
from .entity import EnergyFlexControlEntity, EnergyFlexEntity, async_add_device_entities

# Writes go through the controller, which serialises them per device itself.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the vendor's setpoint numbers (controllable devices) and setting numbers."""
    runtime = entry.runtime_data

    def build(device: EnergyFlexDevice) -> list[NumberEntity]:
        entities: list[NumberEntity] = [
            EnergyFlexSettingNumber(runtime.coordinator, device, description)
            for description in runtime.setting_numbers
            if device.offers(description.key)
        ]
        if device.controller is not None:
            entities.extend(
                EnergyFlexSetpointNumber(
                    runtime.coordinator, device, description, device.controller
                )
                for description in runtime.numbers
                if device.offers(description.key)
            )
        return entities

    async_add_device_entities(entry, async_add_entities, build)


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


class EnergyFlexSettingNumber(EnergyFlexEntity, NumberEntity):
    """A setting the device keeps: its value from the last poll; setting it writes once."""

    entity_description: EnergyFlexSettingNumberDescription

    @property
    def available(self) -> bool:
        """Unavailable while the device does not report the setting."""
        return super().available and self.native_value is not None

    @property
    def native_value(self) -> float | None:
        """The value the device reported."""
        return self.entity_description.value_fn(self.device_data)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The unit the device uses for it now, where that can change."""
        if (unit_fn := self.entity_description.unit_fn) is not None:
            return unit_fn(self.device_data)
        return super().native_unit_of_measurement

    @property
    def device_class(self) -> NumberDeviceClass | None:
        """The class that goes with the current unit, where that can change."""
        if (device_class_fn := self.entity_description.device_class_fn) is not None:
            return device_class_fn(self.device_data)
        return super().device_class

    @property
    def native_min_value(self) -> float:
        """The lowest value the vendor accepts."""
        if (range_fn := self.entity_description.range_fn) is not None:
            return range_fn(self.device_data)[0]
        return super().native_min_value

    @property
    def native_max_value(self) -> float:
        """The highest value the vendor accepts."""
        if (range_fn := self.entity_description.range_fn) is not None:
            return range_fn(self.device_data)[1]
        return super().native_max_value

    async def async_set_native_value(self, value: float) -> None:
        """One write through the vendor, which validates first."""
        await self.entity_description.set_fn(self._device, value)
