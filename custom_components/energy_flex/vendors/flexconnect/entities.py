"""FlexHome FlexConnect entities: battery data, descriptions and the one sign conversion.

FlexConnect's `setpointPower` is positive when the battery CHARGES; Home Assistant's
battery setpoint is positive when it DISCHARGES. `to_flexconnect_setpoint` and
`from_flexconnect_setpoint` are the only place that converts (DESIGN §3); everything the
user sees here is in Home Assistant's sign.

Commands take up to a minute to apply, so the entities keep two things apart: the
`battery_power_setpoint` number and the `control_mode` select show what was requested;
the `current_*` sensors show what the battery applies, and `command_pending` is on while
the two differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.number import NumberDeviceClass, NumberMode
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPower
from homeassistant.helpers.typing import StateType

from ...api.flexconnect import (
    BatteryControl,
    BatteryState,
    ControlInstructions,
    ControlMode,
    ControlState,
    StateOfOperation,
)
from ...const import SetpointKind
from ...descriptions import (
    EnergyFlexNumberDescription,
    EnergyFlexSensorDescription,
    state_of_charge_sensor,
    stored_energy_sensor,
)
from ...descriptions.binary_sensor import EnergyFlexBinarySensorDescription

# Operation states in which the battery does not follow setpoints (notes §7).
_NOT_CONTROLLABLE = frozenset(
    {StateOfOperation.TEMPORARILY_NOT_READY, StateOfOperation.OFF, StateOfOperation.FAILURE}
)


# --- the one sign conversion ------------------------------------------------------------


def to_flexconnect_setpoint(power_w: float) -> float:
    """Home Assistant (+ discharge) → FlexConnect (+ charge)."""
    return 0.0 - power_w  # 0.0 - x: never a "-0"


def from_flexconnect_setpoint(setpoint_w: float | None) -> float | None:
    """FlexConnect (+ charge) → Home Assistant (+ discharge)."""
    return None if setpoint_w is None else 0.0 - setpoint_w


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingCommand:
    """A command Energy Flex sent that the battery has not shown as applied yet."""

    control_mode: ControlMode
    setpoint_power: float  # as sent: FlexConnect's sign
    since: datetime
    # The battery did not apply it within the expected time (`command_not_applied`).
    overdue: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FlexConnectBatteryData:
    """One poll of one battery, plus the command of ours still on its way."""

    state: BatteryState
    control: BatteryControl
    command: PendingCommand | None = None

    @property
    def command_pending(self) -> bool:
        """Desired and current instructions differ, or our command is not shown yet."""
        return self.command is not None or not self.control.applied

    @property
    def command_not_applied(self) -> bool:
        """Our command is overdue: the battery has not applied it in the expected time."""
        return self.command is not None and self.command.overdue

    @property
    def controllable(self) -> bool:
        """Whether the battery follows setpoints in its current state (notes §7)."""
        if self.state.state_of_operation in _NOT_CONTROLLABLE:
            return False
        current = self.control.current
        return current is None or current.control_state is not ControlState.FAILSAFE

    @property
    def problem(self) -> bool | None:
        """Failure or failsafe; unknown when the battery reports neither state."""
        operation = self.state.state_of_operation
        current = self.control.current
        control_state = current.control_state if current else None
        if operation is StateOfOperation.FAILURE or control_state is ControlState.FAILSAFE:
            return True
        if operation is None and control_state is None:
            return None
        return False


def enum_option(member: StateOfOperation | ControlState | ControlMode | None) -> str | None:
    return None if member is None else member.name.lower()


def enum_options(enum: type[StateOfOperation | ControlState | ControlMode]) -> list[str]:
    return [member.name.lower() for member in enum]


def current_instructions(data: FlexConnectBatteryData) -> ControlInstructions:
    return data.control.current or ControlInstructions()


def desired_instructions(data: FlexConnectBatteryData) -> ControlInstructions:
    return data.control.desired or ControlInstructions()


# --- entity descriptions --------------------------------------------------------------------

type _ValueFn = Callable[[FlexConnectBatteryData], StateType]


def _enum_sensor(
    key: str,
    enum: type[StateOfOperation | ControlState | ControlMode],
    value_fn: _ValueFn,
    entity_category: EntityCategory | None = EntityCategory.DIAGNOSTIC,
) -> EnergyFlexSensorDescription:
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENUM,
        options=enum_options(enum),
        entity_category=entity_category,
        value_fn=value_fn,
    )


def _setpoint_sensor(key: str, value_fn: _ValueFn) -> EnergyFlexSensorDescription:
    # Requested and applied setpoints explain the number's state: diagnostics, like the modes.
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=value_fn,
    )


def _sends(field: str) -> Callable[[FlexConnectBatteryData], bool]:
    """The battery reports this `state` field at all (a battery without it gets no entity)."""
    return lambda data: data.state.sent(field)


FLEXCONNECT_SENSORS: tuple[EnergyFlexSensorDescription, ...] = (
    replace(
        state_of_charge_sensor(lambda data: data.state.state_of_charge),
        has_fn=_sends("stateOfCharge"),
    ),
    EnergyFlexSensorDescription(
        key="state_of_health",
        translation_key="state_of_health",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.state.state_of_health,
        has_fn=_sends("stateOfHealth"),
    ),
    replace(
        stored_energy_sensor("stored_energy", lambda data: data.state.state_of_energy),
        has_fn=_sends("stateOfEnergy"),
    ),
    replace(
        stored_energy_sensor(
            "usable_capacity",
            lambda data: data.state.usable_capacity,
            entity_category=EntityCategory.DIAGNOSTIC,
        ),
        has_fn=_sends("usableCapacity"),
    ),
    # An enum at 0 is omitted by proto3 like an absent one: always created, unknown then.
    _enum_sensor(
        "state_of_operation",
        StateOfOperation,
        lambda data: enum_option(data.state.state_of_operation),
        entity_category=None,
    ),
    _enum_sensor(
        "control_state",
        ControlState,
        lambda data: enum_option(current_instructions(data).control_state),
    ),
    _enum_sensor(
        "current_control_mode",
        ControlMode,
        lambda data: enum_option(current_instructions(data).control_mode),
    ),
    _enum_sensor(
        "desired_control_mode",
        ControlMode,
        lambda data: enum_option(desired_instructions(data).control_mode),
    ),
    _setpoint_sensor(
        "current_power_setpoint",
        lambda data: from_flexconnect_setpoint(current_instructions(data).setpoint_power),
    ),
    _setpoint_sensor(
        "desired_power_setpoint",
        lambda data: from_flexconnect_setpoint(desired_instructions(data).setpoint_power),
    ),
)

FLEXCONNECT_BINARY_SENSORS: tuple[EnergyFlexBinarySensorDescription, ...] = (
    EnergyFlexBinarySensorDescription(
        key="battery_problem",
        translation_key="battery_problem",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda data: data.problem,
    ),
    EnergyFlexBinarySensorDescription(
        key="command_pending",
        translation_key="command_pending",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.command_pending,
    ),
    # Not a repair issue: nothing the user could repair. Shown on the battery instead.
    EnergyFlexBinarySensorDescription(
        key="command_not_applied",
        translation_key="command_not_applied",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.command_not_applied,
    ),
)

FLEXCONNECT_NUMBERS: tuple[EnergyFlexNumberDescription, ...] = (
    EnergyFlexNumberDescription(
        key="battery_power_setpoint",
        translation_key="battery_power_setpoint",
        kind=SetpointKind.BATTERY_POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=NumberDeviceClass.POWER,
        mode=NumberMode.BOX,
        native_step=1,
    ),
)
