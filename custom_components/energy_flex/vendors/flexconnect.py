"""FlexHome FlexConnect on the Home Assistant side: battery data, entities and control.

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

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.number import NumberDeviceClass, NumberMode
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import StateType

from ..api.flexconnect import (
    BatteryControl,
    BatteryState,
    ControlInstructions,
    ControlMode,
    ControlState,
    FlexConnectClient,
    StateOfOperation,
)
from ..binary_sensor import EnergyFlexBinarySensorDescription
from ..const import DOMAIN
from ..control import SetpointKind
from ..coordinator import EnergyFlexCoordinator, EnergyFlexDevice
from ..number import EnergyFlexNumberDescription
from ..select import EnergyFlexSelectDescription
from ..sensor import EnergyFlexSensorDescription, state_of_charge_sensor, stored_energy_sensor

_LOGGER = logging.getLogger(__name__)

# Before we take control we remember the battery's mode, to hand it back on release.
_RELEASE_STORAGE_VERSION = 1
# The mode to hand back to when the battery did not say which one it was in.
FALLBACK_RELEASE_MODE = ControlMode.AUTO
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
    # The battery did not apply it within the expected time; a repair issue says so.
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


def _option(member: StateOfOperation | ControlState | ControlMode | None) -> str | None:
    return None if member is None else member.name.lower()


def _options(enum: type[StateOfOperation | ControlState | ControlMode]) -> list[str]:
    return [member.name.lower() for member in enum]


def _current(data: FlexConnectBatteryData) -> ControlInstructions:
    return data.control.current or ControlInstructions()


def _desired(data: FlexConnectBatteryData) -> ControlInstructions:
    return data.control.desired or ControlInstructions()


# --- entity descriptions --------------------------------------------------------------------

type _ValueFn = Callable[[FlexConnectBatteryData], StateType]


def _enum_sensor(
    key: str,
    enum: type[StateOfOperation | ControlState | ControlMode],
    value_fn: _ValueFn,
    entity_category: EntityCategory | None = None,
) -> EnergyFlexSensorDescription:
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENUM,
        options=_options(enum),
        entity_category=entity_category,
        value_fn=value_fn,
    )


def _setpoint_sensor(key: str, value_fn: _ValueFn) -> EnergyFlexSensorDescription:
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        value_fn=value_fn,
    )


FLEXCONNECT_SENSORS: tuple[EnergyFlexSensorDescription, ...] = (
    state_of_charge_sensor(lambda data: data.state.state_of_charge),
    EnergyFlexSensorDescription(
        key="state_of_health",
        translation_key="state_of_health",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.state.state_of_health,
    ),
    stored_energy_sensor("stored_energy", lambda data: data.state.state_of_energy),
    stored_energy_sensor(
        "usable_capacity",
        lambda data: data.state.usable_capacity,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    _enum_sensor(
        "state_of_operation",
        StateOfOperation,
        lambda data: _option(data.state.state_of_operation),
    ),
    _enum_sensor(
        "control_state",
        ControlState,
        lambda data: _option(_current(data).control_state),
    ),
    _enum_sensor(
        "current_control_mode", ControlMode, lambda data: _option(_current(data).control_mode)
    ),
    _enum_sensor(
        "desired_control_mode", ControlMode, lambda data: _option(_desired(data).control_mode)
    ),
    _setpoint_sensor(
        "current_power_setpoint",
        lambda data: from_flexconnect_setpoint(_current(data).setpoint_power),
    ),
    _setpoint_sensor(
        "desired_power_setpoint",
        lambda data: from_flexconnect_setpoint(_desired(data).setpoint_power),
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
        value_fn=lambda data: data.command_pending,
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


def control_mode_select(
    adapters: Mapping[str, FlexConnectControlAdapter],
) -> EnergyFlexSelectDescription:
    """The `control_mode` select of an entry whose batteries have these adapters."""

    async def select(device: EnergyFlexDevice, option: str) -> None:
        await adapters[device.identity].async_select_mode(device, ControlMode[option.upper()])

    return EnergyFlexSelectDescription(
        key="control_mode",
        translation_key="control_mode",
        options=_options(ControlMode),
        # What was requested, like the setpoint number; the sensors show what applies.
        current_fn=lambda data: _option(_desired(data).control_mode),
        select_fn=select,
    )


# --- control --------------------------------------------------------------------------------


class _StoredRelease(TypedDict):
    mode_before: int | None


class FlexConnectControlAdapter:
    """Sends one battery's commands as `BatteryControlModifyRequest`s.

    A battery setpoint is mode POWER with the converted setpoint. The first command
    remembers (in storage, so a restart keeps it) the mode the battery ran in; release
    sends that mode back with setpoint 0 (notes §7). Commands do not expire, so nothing
    is repeated.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        client: FlexConnectClient,
        coordinator: EnergyFlexCoordinator[dict[str, FlexConnectBatteryData]],
        *,
        ski: str,
        storage_key: str,
        power_limits: tuple[float, float],
        on_sent: Callable[[str, ControlMode, float], None],
    ) -> None:
        """Control battery `ski`; `power_limits` are (max charge, max discharge) in W."""
        self._client = client
        self._coordinator = coordinator
        self._ski = ski
        self._max_charge, self._max_discharge = power_limits
        self._on_sent = on_sent
        self._store: Store[_StoredRelease] = Store(
            hass, _RELEASE_STORAGE_VERSION, f"{DOMAIN}.flexconnect_release.{storage_key}"
        )
        self._mode_before: ControlMode | None = None
        # Set for the duration of one release that hands over to a chosen mode.
        self._release_to: ControlMode | None = None

    async def async_load(self) -> None:
        """Recall the mode remembered before a restart."""
        stored = await self._store.async_load()
        raw = stored.get("mode_before") if stored else None
        # Whatever else is stored (a hand edit, a future format) is forgotten, not trusted.
        self._mode_before = next((mode for mode in ControlMode if mode.value == raw), None)

    @property
    def keepalive_interval(self) -> timedelta | None:
        """FlexConnect keeps a setpoint until it is changed; nothing to repeat."""
        return None

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """The bounds from the options, while the battery takes commands."""
        if kind is not SetpointKind.BATTERY_POWER or self.blocked_reason(kind):
            return None
        return (0.0 - self._max_charge, self._max_discharge)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """Offline, off, failing or in failsafe: no command would be followed."""
        data = self._data
        if data is None:
            return "battery_unavailable"
        if not data.controllable:
            return "battery_not_controllable"
        return None

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Mode POWER with `value` (W, + discharge) as FlexConnect's + charge setpoint.

        Whole watts, as the vendor's examples send them.
        """
        if self._mode_before is None:
            await self._async_remember_mode()
        await self._async_send(ControlMode.POWER, float(round(to_flexconnect_setpoint(value))))

    async def async_release(self, kind: SetpointKind) -> None:
        """Hand back to the mode found before we took control, with setpoint 0.

        Without a remembered mode we never took control: nothing is sent.
        """
        mode = self._release_to or self._mode_before
        if mode is None:
            return
        await self._async_send(mode, 0.0)
        if self._mode_before is not None:
            self._mode_before = None
            await self._store.async_save({"mode_before": None})

    async def async_select_mode(self, device: EnergyFlexDevice, mode: ControlMode) -> None:
        """The `control_mode` select, through the controller so writes stay serialised.

        POWER takes control at the held setpoint (0 W when none is held). PCC or AUTO
        hands the battery over to that mode: a release to the chosen mode.
        """
        controller = device.controller
        assert controller is not None  # selects exist only for controllable devices
        if mode is ControlMode.POWER:
            held = controller.held(SetpointKind.BATTERY_POWER)
            await controller.async_set(SetpointKind.BATTERY_POWER, held or 0.0)
            return
        self._release_to = mode
        try:
            await controller.async_release()
        finally:
            self._release_to = None

    @property
    def _data(self) -> FlexConnectBatteryData | None:
        data = self._coordinator.data
        return data.get(self._ski) if data is not None else None

    async def _async_remember_mode(self) -> None:
        data = self._data
        mode = _current(data).control_mode if data is not None else None
        if mode is None:
            _LOGGER.info(
                "Battery %s did not report its control mode; release will select %s",
                self._ski[:8],
                FALLBACK_RELEASE_MODE.name,
            )
            mode = FALLBACK_RELEASE_MODE
        self._mode_before = mode
        # Saved before the command goes out: a crash right after it still knows the way back.
        await self._store.async_save({"mode_before": int(mode)})

    async def _async_send(self, mode: ControlMode, setpoint_power: float) -> None:
        await self._client.async_modify_battery_control(self._ski, mode, setpoint_power)
        self._on_sent(self._ski, mode, setpoint_power)
