"""Planned control: reach a state of charge by a deadline (`reach_state_of_charge`).

The planning rule, in one place: hold the lowest constant power that moves the state of
charge from where it is to the target by the deadline,

    power [W] = |target − state of charge| [%] / 100 × usable capacity [Wh] / time left [h]

rounded up to whole watts and capped by what the device allows now and by the plan's
`max_power` (a plan that needs more runs at its cap and says so). Charging (target above)
is negative, discharging positive: Home Assistant's sign. On every poll the plan is worked
out again from the state of charge the battery reports, so losses, house load and a battery
that lags raise the power and a head start lowers it. The plan ends, and control goes back
to the battery, at the first poll that shows the target reached (within `REACHED_BAND`)
and at the deadline. When discharging, the battery's reserve is never crossed.

Pure functions decide; `SocPlanner` runs plans on one battery's `SetpointController`. The
controller holds the plan with its command (value, deadline, plan: one stored record), so a
restart resumes the plan until its deadline, and any other command, a release or the
deadline ends it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType

from .battery import BatteryFacts, BatteryFactsFn
from .const import DOMAIN, PlanState, SetpointKind
from .control import SetpointController

_LOGGER = logging.getLogger(__name__)

# What a plan drives.
KIND: Final = SetpointKind.BATTERY_POWER
# Within this many percentage points of the target counts as reached: a plan neither starts
# nor keeps running for what a state of charge reported in whole percent cannot show, and it
# never turns round (a charge that overshoots ends; it does not start discharging).
REACHED_BAND: Final = 0.5
# A re-planned power is sent when it differs from the one held by at least this much (the
# larger of the two), so a FlexConnect command can arrive and sonnen is not written every poll.
RESEND_MIN_W: Final = 10.0
RESEND_RATIO: Final = 0.02
# Float noise must not round 1000.0000001 W up to 1001 W.
_ROUNDING_SLACK_W: Final = 1e-6


class Direction(StrEnum):
    """Which way a plan moves the state of charge; chosen once, when it starts."""

    CHARGE = "charge"
    DISCHARGE = "discharge"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One plan: where to, by when, which way, and the user's power cap."""

    target: float
    deadline: datetime
    direction: Direction
    max_power: float | None = None

    def goal(self, reserve: float | None) -> float:
        """The state of charge to stop at: a discharge stops at the reserve at the latest."""
        if self.direction is Direction.DISCHARGE and reserve is not None:
            return max(self.target, reserve)
        return self.target

    def as_record(self) -> dict[str, Any]:
        """What the controller stores with the command."""
        return {
            "target": self.target,
            "deadline": self.deadline.isoformat(),
            "direction": self.direction.value,
            "max_power": self.max_power,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Plan | None:
        """The plan a stored record describes; `None` for anything else."""
        if record is None:
            return None
        try:
            deadline = dt_util.parse_datetime(str(record["deadline"]))
            target = float(record["target"])
            direction = Direction(record["direction"])
            raw_max_power = record.get("max_power")
            max_power = None if raw_max_power is None else float(raw_max_power)
        except KeyError, TypeError, ValueError:
            return None
        if deadline is None or deadline.tzinfo is None:
            return None
        return cls(
            target=target,
            deadline=dt_util.as_utc(deadline),
            direction=direction,
            max_power=max_power,
        )


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One poll's answer: the setpoint to hold, what reaching the target needs, the cap."""

    power: float  # W, Home Assistant's sign, whole watts, within the cap
    needed: float  # W (≥ 0) that reaches the target by the deadline
    cap: float  # W (≥ 0): the device's allowed power or `max_power`, the lower

    @property
    def reachable(self) -> bool:
        """Whether the cap lets the plan reach its target in time."""
        return self.needed <= self.cap


# --- pure functions -------------------------------------------------------------------------


def direction_to(target: float, state_of_charge: float) -> Direction | None:
    """Which way to go; `None` when the battery is at the target already."""
    if target - state_of_charge > REACHED_BAND:
        return Direction.CHARGE
    if state_of_charge - target > REACHED_BAND:
        return Direction.DISCHARGE
    return None


def reached(plan: Plan, state_of_charge: float, reserve: float | None) -> bool:
    """Whether the plan is done: at (or past) its goal, within `REACHED_BAND`."""
    goal = plan.goal(reserve)
    if plan.direction is Direction.CHARGE:
        return state_of_charge >= goal - REACHED_BAND
    return state_of_charge <= goal + REACHED_BAND


def needed_power(percent: float, usable_capacity: float, seconds_left: float) -> float:
    """W that move the state of charge by `percent` points in `seconds_left`."""
    return percent / 100 * usable_capacity * 3600 / seconds_left


def power_cap(direction: Direction, allowed: tuple[float, float], max_power: float | None) -> float:
    """The most a plan may hold (W, ≥ 0, whole watts): the device's bound and `max_power`."""
    device = -allowed[0] if direction is Direction.CHARGE else allowed[1]
    cap = max(0.0, device)
    if max_power is not None:
        cap = min(cap, max_power)
    return float(math.floor(cap))


def plan_step(
    plan: Plan,
    facts: BatteryFacts,
    allowed: tuple[float, float],
    now: datetime,
) -> PlanStep:
    """The setpoint for now; `facts` must know state of charge and capacity."""
    assert facts.state_of_charge is not None
    assert facts.usable_capacity is not None
    seconds_left = max((plan.deadline - now).total_seconds(), 1.0)
    to_go = plan.goal(facts.reserve) - facts.state_of_charge
    percent = max(0.0, to_go if plan.direction is Direction.CHARGE else -to_go)
    needed = needed_power(percent, facts.usable_capacity, seconds_left)
    cap = power_cap(plan.direction, allowed, plan.max_power)
    magnitude = min(float(math.ceil(needed - _ROUNDING_SLACK_W)), cap)
    power = 0.0 - magnitude if plan.direction is Direction.CHARGE else magnitude
    return PlanStep(power=power, needed=needed, cap=cap)


def worth_sending(held: float | None, step: PlanStep) -> bool:
    """Whether a re-planned power should replace the one held."""
    if held is None or abs(held) > step.cap:
        return True  # nothing held, or more than is allowed now
    return abs(step.power - held) >= max(RESEND_MIN_W, RESEND_RATIO * abs(held))


# --- running plans ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanStart:
    """A checked request, ready to send: `plan` is `None` when the target is reached."""

    plan: Plan | None
    step: PlanStep | None
    state_of_charge: float


class SocPlanner:
    """Runs reach-state-of-charge plans on one battery, through its controller."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        coordinator: DataUpdateCoordinator[Any],
        controller: SetpointController,
        facts: BatteryFactsFn,
        name: str,
    ) -> None:
        """Re-plan after every poll of `coordinator`; `facts` reads its data."""
        self._hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self._controller = controller
        self._facts = facts
        self._name = name
        # The last step worked out, and the plan it belongs to.
        self._step: PlanStep | None = None
        self._step_plan: dict[str, Any] | None = None
        # The plan already reported as unreachable (said once per plan).
        self._told_unreachable: dict[str, Any] | None = None
        self._replanning = False
        self._failing = False
        self._listeners: list[CALLBACK_TYPE] = []
        entry.async_on_unload(coordinator.async_add_listener(self._polled))
        entry.async_on_unload(controller.async_add_listener(self._controller_changed))

    # --- what the sensor shows ------------------------------------------------------

    @property
    def plan(self) -> Plan | None:
        """The plan the battery runs now, if any."""
        return Plan.from_record(self._controller.plan(KIND))

    @property
    def state(self) -> PlanState:
        """A plan's direction, a setpoint held without a plan, or nothing."""
        if (plan := self.plan) is not None:
            if plan.direction is Direction.CHARGE:
                return PlanState.CHARGING_TO_TARGET
            return PlanState.DISCHARGING_TO_TARGET
        if any(self._controller.held(kind) is not None for kind in SetpointKind):
            return PlanState.HOLDING_SETPOINT
        return PlanState.IDLE

    @property
    def attributes(self) -> dict[str, Any]:
        """Target, deadline and planned power while a plan runs."""
        if (plan := self.plan) is None:
            return {}
        step = self._current_step()
        attributes: dict[str, Any] = {
            "target": plan.target,
            "deadline": plan.deadline.isoformat(),
            "planned_power": step.power if step else self._controller.held(KIND),
        }
        if step is not None:
            attributes["reachable"] = step.reachable
        if plan.max_power is not None:
            attributes["max_power"] = plan.max_power
        return attributes

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever the plan or its planned power changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # --- starting a plan --------------------------------------------------------------

    def prepare(self, target: float, deadline: datetime, max_power: float | None) -> PlanStart:
        """Check a request against the battery now; raises translated errors, sends nothing."""
        facts = (
            self._facts(self._coordinator.data) if self._coordinator.last_update_success else None
        )
        if facts is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="battery_unavailable"
            )
        if facts.state_of_charge is None:
            raise self._error("plan_state_of_charge_unknown")
        if facts.usable_capacity is None or facts.usable_capacity <= 0:
            raise self._error("plan_capacity_unknown")
        direction = direction_to(target, facts.state_of_charge)
        if direction is None:
            return PlanStart(plan=None, step=None, state_of_charge=facts.state_of_charge)
        if (
            direction is Direction.DISCHARGE
            and facts.reserve is not None
            and target < facts.reserve
        ):
            raise self._error(
                "plan_below_reserve", target=f"{target:g}", reserve=f"{facts.reserve:g}"
            )
        plan = Plan(target=target, deadline=deadline, direction=direction, max_power=max_power)
        # Off grid, not ready, no bounds reported: the controller's own refusal.
        self._controller.validate(KIND, 0.0)
        allowed = self._controller.allowed_range(KIND)
        assert allowed is not None  # validate refuses without bounds
        step = plan_step(plan, facts, allowed, dt_util.utcnow())
        self._controller.validate(KIND, step.power)
        return PlanStart(plan=plan, step=step, state_of_charge=facts.state_of_charge)

    async def async_start(self, start: PlanStart) -> JsonObjectType:
        """Hold the first step of a prepared plan (or hand back: the target is reached)."""
        if start.plan is None or start.step is None:
            _LOGGER.info("%s is at the target already; nothing to plan", self._name)
            if self._controller.held(KIND) is not None:
                await self._controller.async_release((KIND,))
            return {"state": self.state.value, "state_of_charge": start.state_of_charge}
        plan, step = start.plan, start.step
        record = plan.as_record()
        await self._controller.async_set(
            KIND, step.power, plan.deadline - dt_util.utcnow(), plan=record
        )
        self._remember(record, step)
        self._notify()
        _LOGGER.info(
            "%s: %s to %g %% by %s, at %g W",
            self._name,
            plan.direction.value,
            plan.target,
            plan.deadline.isoformat(),
            step.power,
        )
        return {
            "state": self.state.value,
            "state_of_charge": start.state_of_charge,
            "target": plan.target,
            "deadline": plan.deadline.isoformat(),
            "planned_power": step.power,
            "reachable": step.reachable,
        }

    # --- re-planning ----------------------------------------------------------------

    @callback
    def _polled(self) -> None:
        if self._replanning or not self._coordinator.last_update_success:
            return
        if self._controller.plan(KIND) is None:
            return
        self._replanning = True
        self._entry.async_create_background_task(
            self._hass, self._async_replan(), f"{DOMAIN} re-plan {self._name}"
        )

    async def _async_replan(self) -> None:
        try:
            await self._async_replan_now()
        except HomeAssistantError as err:
            if not self._failing:
                _LOGGER.warning("Could not re-plan %s: %s", self._name, err)
            self._failing = True
        else:
            if self._failing:
                _LOGGER.info("Re-planning %s works again", self._name)
            self._failing = False
        finally:
            self._replanning = False

    async def _async_replan_now(self) -> None:
        record = self._controller.plan(KIND)
        plan = Plan.from_record(record)
        now = dt_util.utcnow()
        if record is None or plan is None or now >= plan.deadline:
            return  # at the deadline the controller releases by itself
        facts = self._facts(self._coordinator.data)
        if (
            facts is None
            or facts.state_of_charge is None
            or facts.usable_capacity is None
            or facts.usable_capacity <= 0
        ):
            return  # keep holding what was planned; the next poll tries again
        if reached(plan, facts.state_of_charge, facts.reserve):
            _LOGGER.info(
                "%s reached %g %% (target %g %%): releasing control",
                self._name,
                facts.state_of_charge,
                plan.target,
            )
            await self._controller.async_release((KIND,), plan=record)
            return
        allowed = self._controller.allowed_range(KIND)
        if allowed is None:
            return  # the device tells no bounds now: keep what is held
        step = plan_step(plan, facts, allowed, now)
        self._remember(record, step)
        if worth_sending(self._controller.held(KIND), step):
            await self._controller.async_adjust(KIND, step.power, record)
        self._notify()

    # --- internals --------------------------------------------------------------------

    def _current_step(self) -> PlanStep | None:
        if self._step_plan is not None and self._step_plan == self._controller.plan(KIND):
            return self._step
        return None

    def _remember(self, record: dict[str, Any], step: PlanStep) -> None:
        self._step, self._step_plan = step, record
        if step.reachable or self._told_unreachable == record:
            return
        self._told_unreachable = record
        _LOGGER.warning(
            "%s cannot reach %g %% by %s: that needs %d W, more than the %d W allowed; "
            "running at %d W",
            self._name,
            record["target"],
            record["deadline"],
            math.ceil(step.needed),
            step.cap,
            step.cap,
        )

    @callback
    def _controller_changed(self) -> None:
        if self._current_step() is None:
            self._step = self._step_plan = None
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _error(self, key: str, **placeholders: str) -> ServiceValidationError:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={"name": self._name, **placeholders},
        )
