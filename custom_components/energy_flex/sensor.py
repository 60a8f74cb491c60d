"""Sensors: what the device measures, one description list per vendor.

Every value passes its plausibility gate here, the one place for every vendor: a value
that cannot be true (a state of charge of 150 %, a power far beyond what the device can
do, a non-finite number) is unknown for that entity alone, logged once at debug.
"""

from __future__ import annotations

import logging
from typing import TypeIs

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import EnergyFlexConfigEntry
from .descriptions import EnergyFlexSensorDescription
from .entity import EnergyFlexEntity
from .plausibility import ValueKind, implausible

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0  # the coordinator polls; entities only read its data

_KIND_BY_DEVICE_CLASS = {
    SensorDeviceClass.BATTERY: ValueKind.PERCENTAGE,
    SensorDeviceClass.POWER: ValueKind.POWER,
    SensorDeviceClass.APPARENT_POWER: ValueKind.POWER,
    SensorDeviceClass.ENERGY_STORAGE: ValueKind.STORED_ENERGY,
    SensorDeviceClass.VOLTAGE: ValueKind.VOLTAGE,
    SensorDeviceClass.CURRENT: ValueKind.CURRENT,
    SensorDeviceClass.FREQUENCY: ValueKind.FREQUENCY,
}


def value_kind(description: EnergyFlexSensorDescription) -> ValueKind:
    """The gate of a sensor's values: its own, else from its device class and unit."""
    if description.kind is not None:
        return description.kind
    if description.device_class is SensorDeviceClass.ENERGY:
        # A total that only increases is a counter; a net total may be negative.
        if description.state_class is SensorStateClass.TOTAL_INCREASING:
            return ValueKind.ENERGY_COUNTER
        return ValueKind.NUMBER
    if description.device_class in _KIND_BY_DEVICE_CLASS:
        return _KIND_BY_DEVICE_CLASS[description.device_class]
    if description.native_unit_of_measurement == PERCENTAGE:
        return ValueKind.PERCENTAGE
    return ValueKind.NUMBER


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
    """A measured value; `None` or an impossible value shows as unknown, never as 0."""

    entity_description: EnergyFlexSensorDescription
    # Why the current value was refused, while it is (so it is logged once).
    _refused: str | None = None

    @property
    def native_value(self) -> StateType:
        """The value from the last poll, if it can be true."""
        description = self.entity_description
        data = self.device_data
        value = description.value_fn(data)
        if not _is_number(value):
            self._accept()
            return value
        reason = self._implausible(value)
        if reason is None and description.derived_from is not None:
            basis = description.derived_from(data)
            if _is_number(basis) and (basis_reason := self._implausible(basis)):
                reason = f"computed from {basis!r}, {basis_reason}"
        if reason is None:
            self._accept()
            return value
        if self._refused is None:
            _LOGGER.debug(
                "%s: %r cannot be true (%s); shown as unknown", self.entity_id, value, reason
            )
        self._refused = reason
        self.coordinator.rejected_values[self._rejection_key] = f"{value!r}: {reason}"
        return None

    def _implausible(self, value: float) -> str | None:
        return implausible(
            value_kind(self.entity_description),
            value,
            unit=self.entity_description.native_unit_of_measurement,
            rated_power_w=self._device.rated_power(self.device_data),
        )

    @property
    def _rejection_key(self) -> tuple[str, str]:
        return self._device.identity, self.entity_description.key

    def _accept(self) -> None:
        if self._refused is not None:
            self._refused = None
            self.coordinator.rejected_values.pop(self._rejection_key, None)


def _is_number(value: object) -> TypeIs[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
