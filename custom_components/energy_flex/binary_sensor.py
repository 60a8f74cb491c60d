"""Binary sensors: vendor flags, and whether Energy Flex holds control of a device."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import KEY_CONTROL_ACTIVE
from .coordinator import EnergyFlexConfigEntry
from .descriptions.binary_sensor import EnergyFlexBinarySensorDescription
from .device import EnergyFlexDevice
from .entity import (
    EnergyFlexControlEntity,
    EnergyFlexEntity,
    async_add_device_entities,
    device_has,
)

PARALLEL_UPDATES = 0


CONTROL_ACTIVE = BinarySensorEntityDescription(
    key=KEY_CONTROL_ACTIVE,
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

    def build(device: EnergyFlexDevice) -> list[BinarySensorEntity]:
        entities: list[BinarySensorEntity] = [
            EnergyFlexBinarySensor(runtime.coordinator, device, description)
            for description in runtime.binary_sensors
            if device.offers(description.key)
            and device_has(runtime.coordinator, device, description)
        ]
        if device.controller is not None:
            entities.append(
                ControlActiveBinarySensor(
                    runtime.coordinator, device, CONTROL_ACTIVE, device.controller
                )
            )
        return entities

    async_add_device_entities(entry, async_add_entities, build)


class EnergyFlexBinarySensor(EnergyFlexEntity, BinarySensorEntity):
    """A flag reported by the device."""

    entity_description: EnergyFlexBinarySensorDescription

    async def async_added_to_hass(self) -> None:
        """Also follow a flag that changes between polls, if the description has one."""
        await super().async_added_to_hass()
        if (listen := self.entity_description.listen_fn) is not None:
            self.async_on_remove(listen(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """A connectivity sensor reports the link itself, so it stays available offline."""
        if self.entity_description.device_class == BinarySensorDeviceClass.CONNECTIVITY:
            return self.coordinator.last_update_success and self.device_data is not None
        return super().available

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
