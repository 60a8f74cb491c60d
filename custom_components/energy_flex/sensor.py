"""Sensors: what the device measures, one description list per vendor."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import EnergyFlexConfigEntry, EnergyFlexCoordinator
from .descriptions import EnergyFlexSensorDescription
from .device import EnergyFlexDevice
from .entity import EnergyFlexEntity, async_add_device_entities, device_has
from .planner import PlanState, SocPlanner

PARALLEL_UPDATES = 0  # the coordinator polls; entities only read its data

# What `reach_state_of_charge` does on a battery (every battery Energy Flex controls).
CONTROL_PLAN = SensorEntityDescription(
    key="control_plan",
    translation_key="control_plan",
    device_class=SensorDeviceClass.ENUM,
    options=[state.value for state in PlanState],
)


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
