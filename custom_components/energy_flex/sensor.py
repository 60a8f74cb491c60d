"""Sensors: what the device measures, one description list per vendor.

Every value passes its plausibility gate here, the one place for every vendor: a value
that cannot be true (a state of charge of 150 %, a power far beyond what the device can
do, a non-finite number) is unknown for that entity alone, logged once at debug.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypeIs

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .const import KEY_CONTROL_PLAN, PlanState
from .coordinator import EnergyFlexConfigEntry, EnergyFlexCoordinator
from .descriptions import EnergyFlexSensorDescription
from .device import EnergyFlexDevice
from .entity import EnergyFlexEntity, async_add_device_entities, device_has
from .plausibility import ValueKind, implausible

if TYPE_CHECKING:
    from .planner import SocPlanner

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0  # the coordinator polls; entities only read its data

# What `reach_state_of_charge` does on a battery (every battery Energy Flex controls).
CONTROL_PLAN = SensorEntityDescription(
    key=KEY_CONTROL_PLAN,
    translation_key="control_plan",
    device_class=SensorDeviceClass.ENUM,
    options=[state.value for state in PlanState],
)

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
    """Add every sensor the entry's vendor describes that each of its devices has."""
    runtime = entry.runtime_data

    def build(device: EnergyFlexDevice) -> list[SensorEntity]:
        entities: list[SensorEntity] = [
            EnergyFlexSensor(runtime.coordinator, device, description)
            for description in runtime.sensors
            if device.offers(description.key)
            and device_has(runtime.coordinator, device, description)
        ]
        if device.planner is not None:
            entities.append(ControlPlanSensor(runtime.coordinator, device, device.planner))
        return entities

    async_add_device_entities(entry, async_add_entities, build)


class EnergyFlexSensor(EnergyFlexEntity, SensorEntity):
    """A measured value; `None` or an impossible value shows as unknown, never as 0."""

    entity_description: EnergyFlexSensorDescription
    # Why the current value was refused, while it is (so it is logged once).
    _refused: str | None = None

    async def async_added_to_hass(self) -> None:
        """Also follow a value that changes between polls, if the description has one."""
        await super().async_added_to_hass()
        if (listen := self.entity_description.listen_fn) is not None:
            self.async_on_remove(listen(self.async_write_ha_state))

    @property
    def native_value(self) -> StateType:
        """The value from the last poll, if it can be true."""
        if isinstance(shown := self._shown_for_write, tuple):
            # Writing what `_shown()` just computed for this poll: the same gated value.
            value: StateType = shown[1]
            return value
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

    def _shown(self) -> object:
        """A sensor's state follows its gated value and availability alone (no attributes).

        The type counts, too: 5 and 5.0 are equal but are written as "5" and "5.0".
        Going through `native_value` keeps the plausibility gate (and its record of
        refused values) current on every poll, written or not; a write that follows reads
        the value back from here instead of gating it again.
        """
        if not self.available:
            return False
        value = self.native_value
        return (value.__class__, value)

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


class ControlPlanSensor(EnergyFlexEntity, SensorEntity):
    """What a `reach_state_of_charge` plan does: its direction, target, deadline and power."""

    # The power changes with every re-plan; the setpoint number's history shows it.
    _unrecorded_attributes = frozenset({"planned_power", "reachable"})

    def __init__(
        self,
        coordinator: EnergyFlexCoordinator[Any],
        device: EnergyFlexDevice,
        planner: SocPlanner,
    ) -> None:
        """Follow `planner` as well as the polls."""
        super().__init__(coordinator, device, CONTROL_PLAN)
        self._planner = planner

    async def async_added_to_hass(self) -> None:
        """Write state whenever the plan or its power changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self._planner.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Known even while the device is offline: it is our own state."""
        return True

    @property
    def native_value(self) -> str:
        """`idle`, `charging_to_target`, `discharging_to_target` or `holding_setpoint`."""
        return self._planner.state.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Target, deadline and planned power while a plan runs."""
        return self._planner.attributes
