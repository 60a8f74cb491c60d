"""The planning rule on its own: direction, power, caps, reserve, band, deadlines, records."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.energy_flex.battery import BatteryFacts
from custom_components.energy_flex.planner import (
    REACHED_BAND,
    Direction,
    Plan,
    PlanStep,
    direction_to,
    needed_power,
    plan_step,
    power_cap,
    reached,
    worth_sending,
)
from custom_components.energy_flex.services import resolve_deadline

NOW = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
# A FEMS-like battery: 5 kW each way.
ALLOWED = (-5000.0, 5000.0)


def charge_plan(target: float = 80, hours: float = 3, max_power: float | None = None) -> Plan:
    return Plan(
        target=target,
        deadline=NOW + timedelta(hours=hours),
        direction=Direction.CHARGE,
        max_power=max_power,
    )


def discharge_plan(target: float = 30, hours: float = 2) -> Plan:
    return Plan(target=target, deadline=NOW + timedelta(hours=hours), direction=Direction.DISCHARGE)


def facts(soc: float = 50, capacity: float = 10_000, reserve: float | None = None) -> BatteryFacts:
    return BatteryFacts(state_of_charge=soc, usable_capacity=capacity, reserve=reserve)


# --- direction and the band ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "soc", "direction"),
    [
        (80, 50, Direction.CHARGE),
        (30, 50, Direction.DISCHARGE),
        (50.5, 50, None),  # within the band: reached already
        (49.5, 50, None),
        (50.6, 50, Direction.CHARGE),
        (49.4, 50, Direction.DISCHARGE),
    ],
)
def test_direction_is_up_to_the_target_and_none_inside_the_band(
    target: float, soc: float, direction: Direction | None
) -> None:
    assert direction_to(target, soc) is direction


def test_a_plan_never_turns_round() -> None:
    """A charge that overshoots is reached; it does not start discharging."""
    plan = charge_plan(80)
    assert not reached(plan, 79.4, None)
    assert reached(plan, 80 - REACHED_BAND, None)
    assert reached(plan, 85, None)
    plan = discharge_plan(30)
    assert not reached(plan, 30.6, None)
    assert reached(plan, 30.5, None)
    assert reached(plan, 12, None)


# --- the power ------------------------------------------------------------------------------


def test_needed_power_is_delta_times_capacity_over_time_left() -> None:
    """30 % of 10 kWh in 3 h: exactly 1000 W, no margin."""
    assert needed_power(30, 10_000, 3 * 3600) == pytest.approx(1000)


def test_charging_is_negative_discharging_positive() -> None:
    charge = plan_step(charge_plan(), facts(50), ALLOWED, NOW)
    assert charge == PlanStep(power=-1000, needed=pytest.approx(1000), cap=5000)
    assert charge.reachable
    discharge = plan_step(discharge_plan(), facts(50), ALLOWED, NOW)
    assert discharge.power == 1000  # 20 % of 10 kWh in 2 h


def test_the_power_is_rounded_up_to_whole_watts_only() -> None:
    """1/3 % of 10 kWh in an hour is 33.33 W: 34 W reaches it, 33 W would not."""
    step = plan_step(charge_plan(50 + 1 / 3, hours=1), facts(50), ALLOWED, NOW)
    assert step.power == -34
    assert step.needed == pytest.approx(100 / 3)


def test_time_left_shrinks_and_the_power_grows_with_a_lag() -> None:
    """Half the time gone but only 9 of 15 points gained: 21 % in 1.5 h → 1400 W."""
    later = NOW + timedelta(hours=1.5)
    step = plan_step(charge_plan(), facts(59), ALLOWED, later)
    assert step.power == -1400


@pytest.mark.parametrize(
    ("allowed", "max_power", "cap"),
    [
        ((-5000.0, 5000.0), None, 5000),
        ((-3000.0, 5000.0), None, 3000),  # the device's allowed charge power
        ((-5000.0, 5000.0), 2500, 2500),  # the user's max_power
        ((-2000.0, 5000.0), 2500, 2000),  # the lower of the two
        ((0.0, 5000.0), None, 0),  # full: nothing may be charged
        ((-4999.7, 5000.0), None, 4999),  # whole watts, never above
    ],
)
def test_the_cap_is_the_lower_of_device_and_max_power(
    allowed: tuple[float, float], max_power: float | None, cap: float
) -> None:
    assert power_cap(Direction.CHARGE, allowed, max_power) == cap


def test_a_plan_that_cannot_be_met_runs_at_its_cap_never_above() -> None:
    """50 % in 30 min needs 10 kW; the battery allows 5 kW, the user 2 kW."""
    step = plan_step(charge_plan(100, hours=0.5, max_power=2000), facts(50), ALLOWED, NOW)
    assert step.power == -2000
    assert step.needed == pytest.approx(10_000)
    assert not step.reachable


def test_discharging_stops_at_the_reserve() -> None:
    """Target 10 %, reserve 20 %: the plan aims at 20 % and is reached there."""
    plan = discharge_plan(10, hours=1)
    step = plan_step(plan, facts(50, reserve=20), ALLOWED, NOW)
    assert step.power == 3000  # 30 % of 10 kWh in 1 h, not 40 %
    assert reached(plan, 20.4, 20)
    assert not reached(plan, 20.6, 20)
    assert plan.goal(None) == 10
    assert charge_plan().goal(20) == 80  # charging ignores the reserve


def test_past_the_goal_the_power_is_zero() -> None:
    step = plan_step(charge_plan(), facts(81), ALLOWED, NOW)
    assert step.power == 0


def test_at_the_deadline_the_time_left_never_divides_by_zero() -> None:
    step = plan_step(charge_plan(hours=1), facts(79), ALLOWED, NOW + timedelta(hours=2))
    assert step.power == -5000  # capped
    assert not step.reachable


# --- when a re-plan is sent ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "power", "cap", "send"),
    [
        (None, -1000, 5000, True),  # nothing held
        (-1000, -1015, 5000, False),  # 1.5 %: within 2 %
        (-1000, -1020, 5000, True),  # 2 %
        (-300, -309, 5000, False),  # 9 W: within 10 W
        (-300, -310, 5000, True),  # 10 W
        (-3000, -2990, 2990, True),  # more than is allowed now
    ],
)
def test_a_re_plan_is_sent_when_it_differs_by_2_percent_or_10_w(
    held: float | None, power: float, cap: float, send: bool
) -> None:
    step = PlanStep(power=power, needed=abs(power), cap=cap)
    assert worth_sending(held, step) is send


# --- deadlines ------------------------------------------------------------------------------


async def test_a_deadline_with_a_zone_is_taken_as_given(hass: HomeAssistant) -> None:
    by = datetime(2026, 11, 30, 6, 0, tzinfo=dt_util.get_time_zone("America/New_York"))
    assert resolve_deadline(by, NOW) == datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


async def test_a_local_datetime_is_in_home_assistants_zone(hass: HomeAssistant) -> None:
    """What the UI's date-time picker sends: no zone."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    assert resolve_deadline(datetime(2026, 11, 30, 6, 0), NOW) == datetime(
        2026, 11, 30, 5, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("at", "deadline"),
    [
        (time(6, 0), datetime(2026, 11, 30, 5, 0, tzinfo=UTC)),  # tomorrow morning
        (time(23, 30), datetime(2026, 11, 29, 22, 30, tzinfo=UTC)),  # later today
        (time(23, 0), datetime(2026, 11, 30, 22, 0, tzinfo=UTC)),  # now: tomorrow
    ],
)
async def test_a_time_of_day_is_its_next_occurrence(
    hass: HomeAssistant, at: time, deadline: datetime
) -> None:
    """22:00 UTC is 23:00 in Berlin."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    assert resolve_deadline(at, NOW) == deadline


async def test_a_time_of_day_across_a_clock_change(hass: HomeAssistant) -> None:
    """On the night summer time ends, 06:00 is 05:00 UTC, not 04:00."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    evening = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert resolve_deadline(time(6, 0), evening) == datetime(2026, 10, 25, 5, 0, tzinfo=UTC)


# --- the stored plan ------------------------------------------------------------------------


def test_a_plan_survives_its_record() -> None:
    plan = charge_plan(max_power=2500)
    record = plan.as_record()
    assert record == {
        "target": 80,
        "deadline": "2026-11-30T01:00:00+00:00",
        "direction": "charge",
        "max_power": 2500,
    }
    assert Plan.from_record(record) == plan


@pytest.mark.parametrize(
    "record",
    [
        None,
        {},
        {"target": 80, "deadline": "2026-11-30T01:00:00+00:00", "direction": "sideways"},
        {"target": "lots", "deadline": "2026-11-30T01:00:00+00:00", "direction": "charge"},
        {"target": 80, "deadline": "tomorrow", "direction": "charge"},
        {"target": 80, "deadline": "2026-11-30T01:00:00", "direction": "charge"},  # no zone
        {
            "target": 80,
            "deadline": "2026-11-30T01:00:00+00:00",
            "direction": "charge",
            "max_power": [],
        },
    ],
)
def test_a_record_that_is_not_a_plan_is_none(record: dict[str, object] | None) -> None:
    assert Plan.from_record(record) is None
