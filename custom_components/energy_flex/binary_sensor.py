"""Binary sensors: vendor flags, and whether Energy Flex holds control of a device."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EnergyFlexConfigEntry
from .descriptions import EnergyFlexBinarySensorDescription
from .entity import EnergyFlexControlEntity, EnergyFlexEntity, device_has

PARALLEL_UPDATES = 0


CONTROL_ACTIVE = BinarySensorEntityDescription(
    key="control_active",
    translation_key="control_active",
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the vendor's flags and, where control exists, `control_active`."""
    runtime = entry.runtime_data
    entities: list[BinarySensorEntity] = [
        EnergyFlexBinarySensor(runtime.coordinator, device, description)
        for device in runtime.devices
        for description in runtime.binary_sensors
        if device_has(runtime.coordinator, device, description)
    ]
    entities.extend(
        ControlActiveBinarySensor(runtime.coordinator, device, CONTROL_ACTIVE, device.controller)
        for device in runtime.devices
        if device.controller is not None
    )
    async_add_entities(entities)


class EnergyFlexBinarySensor(EnergyFlexEntity, BinarySensorEntity):
    """A flag reported by the device."""

    entity_description: EnergyFlexBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """The flag from the last poll."""
        return self.entity_description.value_fn(self.device_data)


class ControlActiveBinarySensor(EnergyFlexControlEntity, BinarySensorEntity):
    """On while Energy Flex holds a setpoint on the device."""

    @property
    def available(self) -> bool:
        """Known even while the device is offline: it is our own state."""
        return True

    @property
    def is_on(self) -> bool:
        """Whether any setpoint is held, or its release has not reached the device yet."""
        return self.controller.active

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the held command ends by itself; whether a release waits for the device."""
        attributes: dict[str, Any] = {}
        if deadline := self.controller.next_deadline():
            attributes["ends_at"] = deadline.isoformat()
        if self.controller.release_pending:
            attributes["release_pending"] = True
        return attributes
