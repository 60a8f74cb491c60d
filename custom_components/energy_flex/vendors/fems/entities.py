"""FEMS entities, for every FEMS transport (REST and Modbus both deliver a `FemsSnapshot`).

OpenEMS already uses
Home Assistant's sign convention (ESS + discharge, grid + import); the one conversion
is the charge limit, shown as a positive "maximum charge power" and written negative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import EntityCategory

from ...api.fems import FemsGridMode, FemsSnapshot, FemsState
from ...const import SetpointKind
from ...descriptions import (
    BATTERY_POWER_SETPOINT,
    EnergyFlexNumberDescription,
    EnergyFlexSensorDescription,
    energy_counter,
    power_sensor,
    power_setpoint,
    state_of_charge_sensor,
    stored_energy_sensor,
)
from ...plausibility import ValueKind, plausible


def _charge(power: float | None) -> float | None:
    return None if power is None else max(0.0, -power)


def _discharge(power: float | None) -> float | None:
    return None if power is None else max(0.0, power)


def _stored_energy(data: FemsSnapshot) -> float | None:
    # Derived: an impossible state of charge must not turn into a plausible-looking energy.
    soc = plausible(ValueKind.PERCENTAGE, data.soc)
    capacity = plausible(ValueKind.STORED_ENERGY, data.capacity)
    if capacity is None or soc is None:
        return None
    return round(capacity * soc / 100)


_SENSORS: tuple[EnergyFlexSensorDescription, ...] = (
    state_of_charge_sensor(lambda data: data.soc),
    power_sensor("battery_power", lambda data: data.battery_power),
    power_sensor(
        "battery_charge_power",
        lambda data: _charge(data.battery_power),
        derived_from=lambda data: data.battery_power,
    ),
    power_sensor(
        "battery_discharge_power",
        lambda data: _discharge(data.battery_power),
        derived_from=lambda data: data.battery_power,
    ),
    power_sensor("grid_power", lambda data: data.grid_power),
    power_sensor("production_power", lambda data: data.production_power),
    power_sensor("consumption_power", lambda data: data.consumption_power),
    power_sensor(
        "max_charge_power",
        lambda data: _charge(data.allowed_charge_power),
        entity_category=EntityCategory.DIAGNOSTIC,
        derived_from=lambda data: data.allowed_charge_power,
    ),
    power_sensor(
        "max_discharge_power",
        lambda data: _discharge(data.allowed_discharge_power),
        entity_category=EntityCategory.DIAGNOSTIC,
        derived_from=lambda data: data.allowed_discharge_power,
    ),
    stored_energy_sensor("stored_energy", _stored_energy),
    stored_energy_sensor(
        "usable_capacity", lambda data: data.capacity, entity_category=EntityCategory.DIAGNOSTIC
    ),
    energy_counter("battery_charged_energy", lambda data: data.battery_charged_energy),
    energy_counter("battery_discharged_energy", lambda data: data.battery_discharged_energy),
    energy_counter("grid_imported_energy", lambda data: data.grid_imported_energy),
    energy_counter("grid_exported_energy", lambda data: data.grid_exported_energy),
    energy_counter("produced_energy", lambda data: data.produced_energy),
    energy_counter("consumed_energy", lambda data: data.consumed_energy),
    EnergyFlexSensorDescription(
        key="grid_mode",
        translation_key="grid_mode",
        device_class=SensorDeviceClass.ENUM,
        options=[mode.value for mode in FemsGridMode],
        value_fn=lambda data: data.grid_mode,
    ),
    EnergyFlexSensorDescription(
        key="system_state",
        translation_key="system_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in FemsState],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.state,
    ),
)

# The snapshot fields each sensor reads: without them the FEMS has no such value (an older
# firmware's shorter `_sum`, no ess0), and the sensor is not created.
_FIELDS_BY_KEY: dict[str, tuple[str, ...]] = {
    "state_of_charge": ("soc",),
    "battery_power": ("battery_power",),
    "battery_charge_power": ("battery_power",),
    "battery_discharge_power": ("battery_power",),
    "max_charge_power": ("allowed_charge_power",),
    "max_discharge_power": ("allowed_discharge_power",),
    "stored_energy": ("capacity", "soc"),
    "usable_capacity": ("capacity",),
    "system_state": ("state",),
}


def _has(*fields: str) -> Callable[[FemsSnapshot], bool]:
    return lambda data: data.has(*fields)


FEMS_SENSORS: tuple[EnergyFlexSensorDescription, ...] = tuple(
    # The other keys are named like the field they read.
    replace(description, has_fn=_has(*_FIELDS_BY_KEY.get(description.key, (description.key,))))
    for description in _SENSORS
)

FEMS_NUMBERS: tuple[EnergyFlexNumberDescription, ...] = (
    BATTERY_POWER_SETPOINT,
    # SetActivePowerLessOrEquals / GreaterOrEquals: for experts, so off by default.
    power_setpoint("discharge_power_limit", SetpointKind.DISCHARGE_LIMIT, enabled_default=False),
    power_setpoint("charge_power_limit", SetpointKind.CHARGE_LIMIT, enabled_default=False),
)
