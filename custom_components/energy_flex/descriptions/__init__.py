"""Entity descriptions: what each platform's entities show and how they read or write it.

Vendors describe their entities with these; the runtime holds them and the platforms turn
them into entities. Kept apart from the platform modules so that the coordinator's runtime
can name them without importing a platform (no import cycle).

Here: the sensors and setpoint numbers every battery has, and the builders of the common
keys. Flags (`binary_sensor`) and settings a device keeps (`settings`: setting numbers,
selects, switches) have modules of their own, loaded only by the connections that use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import CALLBACK_TYPE
from homeassistant.helpers.typing import StateType

from ..const import SetpointKind
from ..plausibility import ValueKind

# Subscribes an entity's state writer to a value that changes between polls (e.g. what
# was last pushed to the device); returns the unsubscribe.
type ListenFn = Callable[[CALLBACK_TYPE], CALLBACK_TYPE]

# --- sensors ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EnergyFlexSensorDescription(SensorEntityDescription):
    """A sensor and how to read it from its device's data."""

    value_fn: Callable[[Any], StateType]
    # Whether the device has this value at all (see `entity.device_has`).
    has_fn: Callable[[Any], bool] = lambda data: True
    listen_fn: ListenFn | None = None
    # The plausibility gate of its values; `None`: follows from the device class and unit.
    kind: ValueKind | None = None
    # The measured value this one is computed from (e.g. the charge part of the battery
    # power): when that cannot be true, a plausible-looking result is not true either.
    derived_from: Callable[[Any], StateType] | None = None


# The common power keys that measure the battery itself (bounded by its rated power).
BATTERY_POWER_KEYS = frozenset(
    {
        "battery_power",
        "battery_charge_power",
        "battery_discharge_power",
        "max_charge_power",
        "max_discharge_power",
    }
)


# Builders for the common keys (DESIGN §3), so every vendor's battery looks the same.


def state_of_charge_sensor(value_fn: Callable[[Any], StateType]) -> EnergyFlexSensorDescription:
    """`state_of_charge` in %."""
    return EnergyFlexSensorDescription(
        key="state_of_charge",
        translation_key="state_of_charge",
        native_unit_of_measurement=PERCENTAGE,
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=value_fn,
    )


def power_sensor(
    key: str,
    value_fn: Callable[[Any], StateType],
    *,
    entity_category: EntityCategory | None = None,
    enabled: bool = True,
    derived_from: Callable[[Any], StateType] | None = None,
) -> EnergyFlexSensorDescription:
    """A power in W, selectable in the Energy dashboard."""
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=entity_category,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
        kind=ValueKind.BATTERY_POWER if key in BATTERY_POWER_KEYS else ValueKind.POWER,
        derived_from=derived_from,
    )


def energy_counter(key: str, value_fn: Callable[[Any], StateType]) -> EnergyFlexSensorDescription:
    """A total-increasing energy counter in Wh, shown in kWh, for the Energy dashboard."""
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=value_fn,
    )


def stored_energy_sensor(
    key: str,
    value_fn: Callable[[Any], StateType],
    *,
    entity_category: EntityCategory | None = None,
) -> EnergyFlexSensorDescription:
    """Energy held in (or fitting into) the battery, in Wh shown as kWh."""
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=entity_category,
        value_fn=value_fn,
    )


# --- numbers ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EnergyFlexNumberDescription(NumberEntityDescription):
    """A setpoint number and which held setpoint it drives."""

    kind: SetpointKind


def power_setpoint(
    key: str, kind: SetpointKind, *, enabled_default: bool = True
) -> EnergyFlexNumberDescription:
    """A setpoint in W, typed into a box (a slider cannot hit exact watts)."""
    return EnergyFlexNumberDescription(
        key=key,
        translation_key=key,
        kind=kind,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=NumberDeviceClass.POWER,
        mode=NumberMode.BOX,
        native_step=1,
        entity_registry_enabled_default=enabled_default,
    )


# The common battery setpoint every controllable battery offers (DESIGN §3).
BATTERY_POWER_SETPOINT = power_setpoint("battery_power_setpoint", SetpointKind.BATTERY_POWER)
