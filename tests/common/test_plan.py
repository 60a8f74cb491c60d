"""`reach_state_of_charge` on every connection, over real sockets, on a moving clock.

Each test runs once per connection (FEMS REST, FEMS Modbus, sonnen, FlexConnect, FENECON
cloud): the direction is pinned (target above: a negative setpoint, charge; below: positive,
discharge), the power is Δ% × usable capacity ÷ time left (whole watts; sonnen within
3.5 %, since its capacity is derived from whole-percent readings), re-planned as a lossy
battery lags, released at the target and at the deadline, across a restart, refused
without sending anything, and cancelled by any other command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from custom_components.energy_flex.const import DOMAIN

from .plan_harness import (
    CONNECTIONS,
    PlanHarness,
    advance,
    number,
    open_harness,
    reach,
    state,
    tick,
)


@pytest.fixture(params=CONNECTIONS)
def connection(request: pytest.FixtureRequest) -> str:
    """Each connection in turn."""
    return str(request.param)


@pytest.fixture
async def harness(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, connection: str
) -> AsyncIterator[PlanHarness]:
    """A 10 kWh battery at 50 % on `connection` (the clock frozen before setup)."""
    async with open_harness(hass, connection) as opened:
        yield opened


def soc(hass: HomeAssistant, harness: PlanHarness) -> float:
    """The state of charge the battery shows."""
    value = number(hass, harness.entity("sensor", "state_of_charge"))
    assert value is not None
    return value


def plan_state(hass: HomeAssistant, harness: PlanHarness) -> str:
    return state(hass, harness.plan_sensor).state


def active(hass: HomeAssistant, harness: PlanHarness) -> str:
    return state(hass, harness.entity("binary_sensor", "control_active")).state


def stored_control(hass_storage: dict[str, Any], harness: PlanHarness) -> dict[str, Any]:
    """What the controller stored for the battery (a FlexConnect key names the SKI too)."""
    (key,) = (
        key for key in hass_storage if key.startswith(f"{DOMAIN}.control.{harness.entry.entry_id}")
    )
    data: dict[str, Any] = hass_storage[key]["data"]
    return data


async def settle(hass: HomeAssistant, freezer: FrozenDateTimeFactory, harness: PlanHarness) -> None:
    """One poll later (a FlexConnect command has arrived by then)."""
    await tick(hass, freezer, harness.one_poll)


# --- direction and power ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "hours", "shown"),
    [(80, 3, "charging_to_target"), (30, 2, "discharging_to_target")],
)
async def test_direction_and_the_planned_power(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    harness: PlanHarness,
    target: float,
    hours: float,
    shown: str,
) -> None:
    """Above: a negative setpoint (charge); below: positive (discharge); Δ% × Wh ÷ h."""
    start = soc(hass, harness)
    deadline = dt_util.utcnow() + timedelta(hours=hours)
    response = await reach(hass, harness, target, deadline)
    expected = harness.expected_power(target, start, deadline)
    (command,) = harness.commands()
    assert command is not None
    assert (command < 0) is (target > start)
    harness.assert_power(command, expected)

    plan = state(hass, harness.plan_sensor)
    assert plan.state == shown
    assert plan.attributes["target"] == target
    assert plan.attributes["deadline"] == deadline.isoformat()
    assert plan.attributes["planned_power"] == command
    assert plan.attributes["reachable"] is True
    assert "max_power" not in plan.attributes
    assert number(hass, harness.setpoint) == command  # the power in use
    assert active(hass, harness) == STATE_ON
    assert response is not None
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, harness.entry.runtime_data.devices[0].identity), harness.entry.entry_id
    )
    assert device is not None
    assert response["plans"] == {
        device.id: {
            "state": shown,
            "state_of_charge": start,
            "target": target,
            "deadline": deadline.isoformat(),
            "planned_power": command,
            "reachable": True,
        }
    }
    await settle(hass, freezer, harness)
    assert harness.battery.setpoint_w == command  # the battery does what was planned


async def test_re_plans_as_a_lossy_battery_lags(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, connection: str
) -> None:
    """At 90 % efficiency the battery falls behind: each poll asks for a little more."""
    async with open_harness(hass, connection, efficiency=0.9) as harness:
        deadline = dt_util.utcnow() + timedelta(hours=3)
        await reach(hass, harness, 80, deadline)
        first = harness.commands()[0]
        await advance(hass, freezer, timedelta(hours=1.5))
        shown = soc(hass, harness)
        assert shown < 65  # behind the 65 % a lossless battery would show now
        planned = state(hass, harness.plan_sensor).attributes["planned_power"]
        harness.assert_power(planned, harness.expected_power(80, shown, deadline))
        commands = harness.commands()
        assert len(commands) >= 2
        assert all(command is not None and command < 0 for command in commands)
        assert commands[-1] < first  # more charge power than at the start
        # What is held is the plan, to within the re-send band (2 % or 10 W).
        held = number(hass, harness.setpoint)
        assert held is not None
        assert abs(held - planned) <= max(10, 0.02 * abs(held))

        await advance(hass, freezer, deadline - dt_util.utcnow() + timedelta(seconds=1))
        assert soc(hass, harness) >= 79  # the losses were made up for
        assert plan_state(hass, harness) == "idle"
        assert harness.commands()[-1] is None


# --- the end of a plan --------------------------------------------------------------------


async def test_released_at_the_first_poll_that_shows_the_target(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, harness: PlanHarness
) -> None:
    """Reached early (here: more sun than expected): control goes back to the battery."""
    await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
    await settle(hass, freezer, harness)
    harness.show_soc(80)
    await settle(hass, freezer, harness)
    assert harness.commands()[-1] is None
    assert plan_state(hass, harness) == "idle"
    assert state(hass, harness.plan_sensor).attributes.get("target") is None
    assert active(hass, harness) == STATE_OFF
    assert number(hass, harness.setpoint) is None
    await settle(hass, freezer, harness)
    assert harness.battery.setpoint_w is None  # back on its own logic
    released = len(harness.received())
    await advance(hass, freezer, timedelta(minutes=10))
    assert len(harness.received()) == released  # and left alone


async def test_a_plan_that_cannot_be_met_runs_at_its_cap_until_the_deadline(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    harness: PlanHarness,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """50 % in 30 min needs 10 kW; `max_power` allows 2 kW: 2 kW, said so, released at 30 min."""
    deadline = dt_util.utcnow() + timedelta(minutes=30)
    response = await reach(hass, harness, 100, deadline, max_power=2000)
    assert harness.commands() == [-2000]
    plan = state(hass, harness.plan_sensor)
    assert plan.attributes["reachable"] is False
    assert plan.attributes["max_power"] == 2000
    assert response is not None
    (answer,) = response["plans"].values()  # type: ignore[union-attr]
    assert answer["reachable"] is False  # type: ignore[index,call-overload]
    assert "cannot reach 100 % by" in caplog.text
    assert "running at 2000 W" in caplog.text

    await advance(hass, freezer, deadline - dt_util.utcnow() - timedelta(seconds=1))
    assert plan_state(hass, harness) == "charging_to_target"
    assert all(command == -2000 for command in harness.commands())  # never above its cap
    await tick(hass, freezer, timedelta(seconds=2))
    assert harness.commands() == [-2000, None]
    assert plan_state(hass, harness) == "idle"
    assert active(hass, harness) == STATE_OFF


async def test_a_restart_resumes_the_plan_until_the_target(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    harness: PlanHarness,
    hass_storage: dict[str, Any],
) -> None:
    """The plan is stored with its command; after a restart it re-plans from where it is."""
    deadline = dt_util.utcnow() + timedelta(hours=3)
    await reach(hass, harness, 80, deadline)
    await advance(hass, freezer, timedelta(minutes=30))
    record = stored_control(hass_storage, harness)["battery_power"]
    assert record["plan"] == {
        "target": 80.0,
        "deadline": deadline.isoformat(),
        "direction": "charge",
        "max_power": None,
    }
    await harness.restart(hass, hass_storage, freezer, down_for=timedelta(minutes=30))
    plan = state(hass, harness.plan_sensor)
    assert plan.state == "charging_to_target"
    assert plan.attributes["deadline"] == deadline.isoformat()
    assert harness.commands()[-1] is not None  # charging again
    # An hour of the three passed, half of it without charging: more power now.
    await settle(hass, freezer, harness)
    shown = soc(hass, harness)
    harness.assert_power(
        state(hass, harness.plan_sensor).attributes["planned_power"],
        harness.expected_power(80, shown, deadline),
    )
    harness.show_soc(80)
    await settle(hass, freezer, harness)
    assert plan_state(hass, harness) == "idle"
    assert harness.commands()[-1] is None
    assert stored_control(hass_storage, harness) == {}


async def test_a_deadline_that_passed_during_a_restart_releases_at_start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    harness: PlanHarness,
    hass_storage: dict[str, Any],
) -> None:
    """A plan never outlives its deadline, not even while Home Assistant was down."""
    await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=1))
    await harness.restart(hass, hass_storage, freezer, down_for=timedelta(hours=2))
    assert plan_state(hass, harness) == "idle"
    assert active(hass, harness) == STATE_OFF
    assert stored_control(hass_storage, harness) == {}
    released = len(harness.received())
    await advance(hass, freezer, timedelta(minutes=10))
    assert len(harness.received()) == released  # nothing resumed


# --- refusals and cancellation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_data", "key"),
    [
        ({"state_of_charge": 101}, "plan_target_out_of_range"),
        ({"state_of_charge": -1}, "plan_target_out_of_range"),
        ({"state_of_charge": "nan"}, "plan_target_out_of_range"),
        ({"by": "past"}, "plan_deadline_passed"),
        ({"max_power": -1}, "plan_max_power_invalid"),
    ],
)
async def test_refusals_send_nothing(
    hass: HomeAssistant, harness: PlanHarness, request_data: dict[str, Any], key: str
) -> None:
    """A target outside 0–100 %, a deadline in the past, a negative cap: a translated error."""
    data: dict[str, Any] = {"state_of_charge": 80, "by": "23:59:59", **request_data}
    if data["by"] == "past":
        data["by"] = dt_util.utcnow() - timedelta(minutes=1)
    with pytest.raises(ServiceValidationError) as raised:
        await reach(hass, harness, data.pop("state_of_charge"), data.pop("by"), **data)
    assert raised.value.translation_key == key
    assert harness.received() == []
    assert plan_state(hass, harness) == "idle"


async def test_at_the_target_already_nothing_is_sent(
    hass: HomeAssistant, harness: PlanHarness
) -> None:
    """Within half a point of the target there is nothing to plan."""
    start = soc(hass, harness)
    response = await reach(hass, harness, start + 0.4, "23:59:59")
    assert harness.received() == []
    assert plan_state(hass, harness) == "idle"
    assert response is not None
    (answer,) = response["plans"].values()  # type: ignore[union-attr]
    assert answer == {"state": "idle", "state_of_charge": start}


async def test_a_manual_setpoint_cancels_the_plan(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, harness: PlanHarness
) -> None:
    """The number set by hand wins: no re-plan and no deadline touches it afterwards."""
    deadline = dt_util.utcnow() + timedelta(hours=1)
    await reach(hass, harness, 80, deadline)
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: harness.setpoint, ATTR_VALUE: -500},
        blocking=True,
    )
    assert plan_state(hass, harness) == "holding_setpoint"
    assert state(hass, harness.plan_sensor).attributes.get("target") is None
    await advance(hass, freezer, timedelta(hours=1, minutes=10))
    assert harness.commands()[-1] == -500
    assert number(hass, harness.setpoint) == -500
    assert harness.battery.setpoint_w == -500
    assert plan_state(hass, harness) == "holding_setpoint"


async def test_release_control_cancels_the_plan(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, harness: PlanHarness
) -> None:
    await reach(hass, harness, 20, dt_util.utcnow() + timedelta(hours=1))
    await hass.services.async_call(
        DOMAIN, "release_control", {ATTR_ENTITY_ID: harness.setpoint}, blocking=True
    )
    assert plan_state(hass, harness) == "idle"
    assert harness.commands()[-1] is None
    released = len(harness.received())
    await advance(hass, freezer, timedelta(minutes=10))
    assert len(harness.received()) == released
