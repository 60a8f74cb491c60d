"""One FlexHome battery behind the FlexConnect cloud, and its ProtoJSON rendering.

Control instructions follow the device-shadow pattern of the vendor document: a modify
request sets the *desired* instructions at once; the battery applies them (the *current*
instructions, and the `BatteryModel`) only after a command latency. FlexConnect's
setpoint is + charge, the model's + discharge: the conversion is here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum

from ..battery import BatteryModel
from ..jsontypes import JsonValue


class ControlMode(IntEnum):
    POWER = 1
    PCC = 2
    AUTO = 3


class ControlState(IntEnum):
    INIT = 1
    POWER = 2
    PCC = 3
    AUTO_CONTROLLED = 4
    AUTO_UNCONTROLLED = 5
    FAILSAFE = 6


class StateOfOperation(IntEnum):
    NORMAL = 1
    STANDBY = 2
    TEMPORARILY_NOT_READY = 3
    OFF = 4
    FAILURE = 5


_STATE_BY_MODE = {
    ControlMode.POWER: ControlState.POWER,
    ControlMode.PCC: ControlState.PCC,
    ControlMode.AUTO: ControlState.AUTO_CONTROLLED,
}


@dataclass(frozen=True, slots=True)
class Instructions:
    """Control instructions; `setpoint_w` in FlexConnect's sign (+ charge)."""

    control_mode: int
    setpoint_w: Decimal
    timestamp_ms: int


@dataclass(slots=True)
class ProtoJsonStyle:
    """How answers are rendered; the defaults are what a ProtoJSON printer does."""

    omit_defaults: bool = True
    int64_as_string: bool = True
    enums_as_names: bool = False
    # Instruction sides ("current", "desired") whose zero setpoint the cloud leaves unset:
    # `setpointPower` is then omitted altogether instead of sent as `{}`.
    unset_zero_setpoint: frozenset[str] = frozenset()

    def int64(self, value: int) -> JsonValue:
        return str(value) if self.int64_as_string else value

    def enum(self, value: int, enum: type[IntEnum]) -> JsonValue:
        if self.enums_as_names:
            try:
                return enum(value).name
            except ValueError:
                return value
        return value

    def scaled(self, value: Decimal, scale: int) -> dict[str, JsonValue]:
        """`value` as number × 10^scale (rounded to that scale); zeros omitted."""
        number = int(value.scaleb(-scale).to_integral_value())
        rendered: dict[str, JsonValue] = {}
        if number or not self.omit_defaults:
            rendered["number"] = self.int64(number)
        if scale or not self.omit_defaults:
            rendered["scale"] = scale
        return rendered

    def scaled_exact(self, value: Decimal) -> dict[str, JsonValue]:
        """`value` with the scale it needs: whole numbers at scale 0, else its decimals."""
        exponent = value.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        return self.scaled(value, min(exponent, 0))

    def put(self, target: dict[str, JsonValue], key: str, value: JsonValue) -> None:
        """Set a scalar field, leaving proto3 defaults (0, "") out."""
        if self.omit_defaults and value in (0, "0", ""):
            return
        target[key] = value


def decode_scaled(raw: object) -> Decimal | None:
    """A scaled number from a request (strings and omissions allowed), or `None`."""
    if not isinstance(raw, dict):
        return None
    number, scale = raw.get("number", 0), raw.get("scale", 0)
    try:
        if isinstance(number, bool) or isinstance(scale, bool):
            return None
        if not isinstance(number, int | str) or not isinstance(scale, int | str):
            return None
        return Decimal(int(number)).scaleb(int(scale))
    except ValueError:
        return None


@dataclass(slots=True)
class SimulatedBattery:
    """A battery as the FlexConnect cloud sees it."""

    ski: str
    model: BatteryModel
    clock: Callable[[], float]
    state_of_health: Decimal = Decimal("98.5")
    # Raw enum values, so tests can set ones the vendor document does not define.
    state_of_operation: int = StateOfOperation.NORMAL
    failsafe: bool = False
    # Offline: requests wait for their timeoutMs and fail like a cloud timeout.
    online: bool = True
    current: Instructions = field(init=False)
    desired: Instructions = field(init=False)
    # The command on its way and when the battery applies it (clock seconds).
    pending: tuple[Instructions, float] | None = field(default=None, init=False)
    control_state_override: int | None = None
    # `state` fields this battery does not report at all (omitted, not zero).
    absent_fields: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # A battery in the vendor's automatic mode, as the API-endpoints example shows.
        now = self.now_ms()
        self.current = Instructions(ControlMode.AUTO, Decimal(0), now)
        self.desired = Instructions(ControlMode.AUTO, Decimal(0), now)
        self._drive_model(self.current)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def control_state(self) -> int:
        if self.control_state_override is not None:
            return self.control_state_override
        if self.failsafe:
            return ControlState.FAILSAFE
        try:
            return _STATE_BY_MODE[ControlMode(self.current.control_mode)]
        except ValueError:
            return ControlState.INIT

    def modify(self, control_mode: int, setpoint_w: Decimal, latency_s: float) -> None:
        """Accept a command: desired now, current after `latency_s`."""
        self.settle()
        self.desired = Instructions(control_mode, setpoint_w, self.now_ms())
        self.pending = (self.desired, self.clock() + latency_s)
        self.settle()

    def settle(self) -> None:
        """Apply the pending command if its time has come."""
        if self.pending is None:
            return
        command, apply_at = self.pending
        if self.clock() < apply_at:
            return
        self.pending = None
        self.current = Instructions(
            command.control_mode,
            command.setpoint_w,
            max(int(apply_at * 1000), command.timestamp_ms),
        )
        self._drive_model(self.current)

    def _drive_model(self, instructions: Instructions) -> None:
        # POWER drives the battery directly (+ charge → model's − charge); PCC and AUTO
        # regulate at the grid connection point, which the model runs as self-consumption.
        if instructions.control_mode == ControlMode.POWER:
            self.model.setpoint_w = float(-instructions.setpoint_w)
        else:
            self.model.setpoint_w = None

    # --- answers --------------------------------------------------------------------------

    def state_json(self, style: ProtoJsonStyle) -> dict[str, JsonValue]:
        self.settle()
        self.model.step()
        soc = Decimal(repr(self.model.soc))
        capacity = Decimal(repr(self.model.capacity_wh))
        state: dict[str, JsonValue] = {
            # Tenths of a percent (scale −1), as a scaled number is meant to be used.
            "stateOfCharge": style.scaled(soc, -1),
            "stateOfHealth": style.scaled(self.state_of_health, -1),
            "stateOfEnergy": style.scaled(soc * capacity / 100, 0),
            # Whole kWh where possible: 10000 Wh goes out as 10 × 10^3.
            "usableCapacity": style.scaled(capacity, 3 if capacity % 1000 == 0 else 0),
        }
        style.put(state, "stateOfOperation", style.enum(self.state_of_operation, StateOfOperation))
        for name in self.absent_fields:
            state.pop(name, None)
        return {"state": state}

    def control_json(self, style: ProtoJsonStyle) -> dict[str, JsonValue]:
        self.settle()
        current = self._instructions_json(self.current, style, "current")
        style.put(current, "controlState", style.enum(self.control_state, ControlState))
        return {
            "currentControlInstructions": current,
            "desiredControlInstructions": self._instructions_json(self.desired, style, "desired"),
        }

    @staticmethod
    def _instructions_json(
        instructions: Instructions, style: ProtoJsonStyle, side: str
    ) -> dict[str, JsonValue]:
        rendered: dict[str, JsonValue] = {}
        style.put(rendered, "controlMode", style.enum(instructions.control_mode, ControlMode))
        if instructions.setpoint_w or side not in style.unset_zero_setpoint:
            rendered["setpointPower"] = style.scaled_exact(instructions.setpoint_w)
        style.put(rendered, "timestamp", style.int64(instructions.timestamp_ms))
        return rendered
